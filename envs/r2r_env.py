"""``vlnsim/R2R-v0``: discrete vision-and-language navigation on a navigation graph (R2R).

Description:
    The agent stands on a viewpoint of the scan's navigation graph
    (``<data_root>/connectivity/<scan>_connectivity.json``), sees a 36-view panorama
    and moves to an adjacent viewpoint or stops, following an R2R instruction from
    ``<data_root>/datasets/<dataset>/R2R_<split>.json`` (one episode per instruction).

Observation (``Dict``):
    ``panorama`` uint8 (36, H, W, 3) rendered views (``observation="rgb"``) or
    ``features`` float32 (36, D) from an HDF5 file keyed ``<scan>_<viewpoint>``
    (``observation="features"``), views ordered as ``vlnsim.discrete.panorama``;
    ``candidates`` float32 (K, 4): [sin, cos of relative heading, sin, cos of relative
    elevation] of each neighbour, ``candidate_distance`` float32 (K,),
    ``candidate_view`` int64 (K,) panorama view index facing it, ``candidate_mask``
    int8 (K,) (K = ``max_candidates``, padded); ``heading`` float32 (1,);
    ``instruction`` int64 (L,) word ids (padded with 0) and ``instruction_mask`` int8 (L,).

Action: ``Discrete(K + 1)``: 0 = STOP, ``i + 1`` = move to candidate ``i``. A padded
    (masked) candidate leaves the agent where it is (``info["invalid_action"]``).
    After a move the agent faces the direction it moved in.

Rewards: graph-distance progress to the goal, plus ``success_reward`` for a STOP
    within 3 m (graph distance) of the goal.

Termination: ``terminated`` on STOP; ``truncated`` after ``max_steps`` moves (R2R
    agents use 15). The last step's ``info["metrics"]`` holds R2R's metrics on the
    graph (``vlnsim.discrete.metrics``: success, spl, ne, oracle_success, tl, ndtw,
    sdtw, cls; success scores the final viewpoint whether or not STOP was called, as
    R2R's evaluation does); ``info["trajectory"]`` the visited viewpoint ids and
    ``info["stopped"]`` whether STOP ended the episode. Every step's
    ``info["expert_action"]`` is the shortest-path expert's action (DAgger oracle).

Registered ids: ``vlnsim/R2R-v0``.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from vlnsim.discrete.connectivity import connectivity_path, load_connectivity
from vlnsim.discrete.graph import NavGraph
from vlnsim.discrete.metrics import SUCCESS_DISTANCE, r2r_metrics
from vlnsim.discrete.panorama import NUM_VIEWS, candidates, panorama_sensors, render_panorama
from vlnsim.episodes.io import read_json
from vlnsim.episodes.r2r import DEFAULT_SCENE_ID_FORMAT, R2RPath, load_r2r
from vlnsim.episodes.vocab import Vocabulary
from vlnsim.errors import ConfigError, InvalidActionError

STOP = 0


@dataclass
class R2REnvConfig:
    """Settings of ``vlnsim/R2R-v0``.

    Attributes:
        data_root: data directory (connectivity/, datasets/, scene_datasets/).
        dataset: dataset name under ``datasets/``.
        split: R2R split (``R2R_<split>.json``).
        observation: "rgb" (render the panorama), "features" (read ``features``) or "none".
        features: HDF5 file of (36, D) panorama features keyed ``<scan>_<viewpoint>``.
        width, height, hfov: panorama view resolution and field of view (Matterport: 60 deg).
        max_candidates: candidate slots K (neighbours beyond K are dropped).
        max_instruction_length: instruction tokens L.
        max_steps: moves before truncation.
        success_reward: reward for a successful STOP.
        shuffle: draw episodes at random (``np_random``) instead of in file order.
        scene_id_format: scene path under ``scene_datasets`` for a scan (rgb only).
        panorama_cache: rendered panoramas kept in memory (LRU).
    """

    data_root: str = "data"
    dataset: str = "procgen_r2r_discrete"
    split: str = "val_unseen"
    observation: str = "rgb"
    features: str = ""
    width: int = 64
    height: int = 64
    hfov: float = 60.0
    max_candidates: int = 8
    max_instruction_length: int = 80
    max_steps: int = 15
    success_reward: float = 2.5
    shuffle: bool = False
    scene_id_format: str = DEFAULT_SCENE_ID_FORMAT
    panorama_cache: int = 256

    def validate(self) -> None:
        if self.observation not in ("rgb", "features", "none"):
            raise ConfigError(f"R2R env observation={self.observation!r}; expected 'rgb', 'features' or 'none'")
        if self.observation == "features" and not self.features:
            raise ConfigError("R2R env observation='features' needs features=<HDF5 file from vlnsim extract-features>")
        for name in ("width", "height", "max_candidates", "max_instruction_length", "max_steps"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ConfigError(f"R2R env {name}={v!r}; expected a positive integer")


class R2REnv(gym.Env):
    """Discrete R2R navigation (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, config: Optional[R2REnvConfig] = None, render_mode: Optional[str] = None, **kwargs: Any):
        base = asdict(config) if config is not None else {}
        unknown = set(kwargs) - set(R2REnvConfig.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown R2R env options {sorted(unknown)}; expected fields of R2REnvConfig")
        self.config = cfg = R2REnvConfig(**{**base, **kwargs})
        cfg.validate()
        self.render_mode = render_mode
        ds = Path(cfg.data_root) / "datasets" / cfg.dataset
        records = load_r2r(ds / f"R2R_{cfg.split}.json")
        self.episodes: List[Tuple[R2RPath, int]] = [(r, k) for r in records for k in range(len(r.instructions))]
        vocab_file = ds / "instruction_vocab.json"
        if vocab_file.is_file():
            self.vocab = Vocabulary(read_json(vocab_file)["word_list"])
        else:
            self.vocab = Vocabulary.build(t for r in records for t in r.instructions)
        self._graphs: Dict[str, NavGraph] = {}
        self._renderer = None
        self._renderer_scan = ""
        self._panos: "OrderedDict[Tuple[str, str], np.ndarray]" = OrderedDict()
        self._h5 = None
        self._sensors = panorama_sensors(cfg.width, cfg.height, cfg.hfov)
        K, L = cfg.max_candidates, cfg.max_instruction_length
        obs: Dict[str, spaces.Space] = {
            "candidates": spaces.Box(-1.0, 1.0, (K, 4), np.float32),
            "candidate_distance": spaces.Box(0.0, 100.0, (K,), np.float32),
            "candidate_view": spaces.Box(0, NUM_VIEWS - 1, (K,), np.int64),
            "candidate_mask": spaces.Box(0, 1, (K,), np.int8),
            "heading": spaces.Box(-math.pi, math.pi, (1,), np.float32),
            "instruction": spaces.Box(0, len(self.vocab) - 1, (L,), np.int64),
            "instruction_mask": spaces.Box(0, 1, (L,), np.int8),
        }
        if cfg.observation == "rgb":
            obs["panorama"] = spaces.Box(0, 255, (NUM_VIEWS, cfg.height, cfg.width, 3), np.uint8)
        elif cfg.observation == "features":
            import h5py

            self._h5 = h5py.File(cfg.features, "r")
            first = next(iter(self._h5.keys()))
            dim = self._h5[first].shape[-1]
            obs["features"] = spaces.Box(-np.inf, np.inf, (NUM_VIEWS, dim), np.float32)
        self.observation_space = spaces.Dict(obs)
        self.action_space = spaces.Discrete(K + 1)
        self._order = np.arange(len(self.episodes))
        self._next = 0
        self.current: Optional[Tuple[R2RPath, int]] = None

    # ------------------------------------------------------------------ data
    def graph(self, scan: str) -> NavGraph:
        """The navigation graph of ``scan`` (loaded once)."""
        g = self._graphs.get(scan)
        if g is None:
            g = load_connectivity(connectivity_path(self.config.data_root, scan), scan)
            self._graphs[scan] = g
        return g

    def _panorama(self, scan: str, viewpoint: str) -> np.ndarray:
        key = (scan, viewpoint)
        hit = self._panos.get(key)
        if hit is not None:
            self._panos.move_to_end(key)
            return hit
        if self._renderer_scan != scan:
            from vlnsim.render.renderer import Renderer
            from vlnsim.scene.io import load_scene

            scene = load_scene(Path(self.config.data_root) / "scene_datasets" / self.config.scene_id_format.format(scan=scan))
            self._renderer, self._renderer_scan = Renderer(scene), scan
        g = self.graph(scan)
        if not np.allclose(g.camera_height, self._sensors[0].position[1]):
            self._sensors = panorama_sensors(self.config.width, self.config.height, self.config.hfov,
                                             float(g.camera_height[g.idx(viewpoint)]))
        pano = render_panorama(self._renderer, g.position(viewpoint), self._sensors)
        self._panos[key] = pano
        while len(self._panos) > self.config.panorama_cache:
            self._panos.popitem(last=False)
        return pano

    def panorama(self, scan: Optional[str] = None, viewpoint: Optional[str] = None) -> np.ndarray:
        """(36, H, W, 3) rendered panorama of a viewpoint (default: the agent's), whatever ``observation`` is."""
        return self._panorama(scan or self.scan, viewpoint or self.viewpoint)

    def features(self, scan: str, viewpoint: str) -> np.ndarray:
        """(36, D) features of a viewpoint from the HDF5 file."""
        key = f"{scan}_{viewpoint}"
        if key not in self._h5:
            raise ConfigError(f"features file {self.config.features}: no entry {key!r}; re-run vlnsim extract-features "
                              "for this dataset")
        return np.asarray(self._h5[key], dtype=np.float32)

    # ------------------------------------------------------------------ episode state
    @property
    def scan(self) -> str:
        return self.current[0].scan

    @property
    def goal(self) -> str:
        return self.current[0].path[-1]

    @property
    def instruction_text(self) -> str:
        rec, k = self.current
        return rec.instructions[k]

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None):
        super().reset(seed=seed)
        options = options or {}
        if seed is not None:
            self._next = 0
            self._order = self.np_random.permutation(len(self.episodes)) if self.config.shuffle else np.arange(len(self.episodes))
        if "episode_index" in options:
            i = int(options["episode_index"])
            if not 0 <= i < len(self.episodes):
                raise ConfigError(f"episode_index={i}; expected 0..{len(self.episodes) - 1}")
        else:
            i = int(self._order[self._next % len(self.episodes)])
            self._next += 1
        self.current = self.episodes[i]
        self.episode_index = i
        rec, k = self.current
        g = self.graph(rec.scan)
        self.viewpoint = rec.path[0]
        self.heading = float(rec.heading)
        self.trajectory = [self.viewpoint]
        self.steps = 0
        self.done = False
        ids = self.vocab.encode(rec.instructions[k])[: self.config.max_instruction_length]
        self._tokens = np.zeros(self.config.max_instruction_length, dtype=np.int64)
        self._tokens[: len(ids)] = ids
        self._dist = g.distance(self.viewpoint, self.goal)
        return self._observation(), self._info()

    def _candidates(self) -> List[Dict[str, float]]:
        cands = candidates(self.graph(self.scan), self.viewpoint, self.heading)
        return cands[: self.config.max_candidates]

    def _observation(self) -> Dict[str, np.ndarray]:
        K = self.config.max_candidates
        cands = self._candidates()
        self._cands = cands
        geo = np.zeros((K, 4), dtype=np.float32)
        dist = np.zeros(K, dtype=np.float32)
        view = np.zeros(K, dtype=np.int64)
        mask = np.zeros(K, dtype=np.int8)
        for i, c in enumerate(cands):
            geo[i] = [math.sin(c["rel_heading"]), math.cos(c["rel_heading"]),
                      math.sin(c["rel_elevation"]), math.cos(c["rel_elevation"])]
            dist[i], view[i], mask[i] = c["distance"], c["view"], 1
        h = math.atan2(math.sin(self.heading), math.cos(self.heading))
        obs = {"candidates": geo, "candidate_distance": dist, "candidate_view": view, "candidate_mask": mask,
               "heading": np.array([h], dtype=np.float32), "instruction": self._tokens.copy(),
               "instruction_mask": (self._tokens != 0).astype(np.int8)}
        if self.config.observation == "rgb":
            obs["panorama"] = self._panorama(self.scan, self.viewpoint).copy()
        elif self.config.observation == "features":
            obs["features"] = self.features(self.scan, self.viewpoint)
        return obs

    def expert_action(self) -> int:
        """The shortest-path expert's action: STOP at the goal, else the candidate on a shortest path."""
        if self.viewpoint == self.goal:
            return STOP
        nxt = self.graph(self.scan).next_hop(self.viewpoint, self.goal)
        for i, c in enumerate(self._cands):
            if c["viewpoint"] == nxt:
                return i + 1
        # the next hop fell beyond max_candidates: take the kept candidate closest to the goal
        g = self.graph(self.scan)
        if not self._cands:
            return STOP
        return 1 + int(np.argmin([g.distance(c["viewpoint"], self.goal) for c in self._cands]))

    def _info(self) -> Dict[str, Any]:
        return {"viewpoint": self.viewpoint, "scan": self.scan, "distance_to_goal": self._dist,
                "expert_action": self.expert_action(), "episode_index": self.episode_index}

    def step(self, action: Any):
        if self.current is None or self.done:
            raise InvalidActionError("step() called before reset() or after the episode ended; call reset()")
        try:
            a = int(np.asarray(action).reshape(()))
        except (TypeError, ValueError):
            raise InvalidActionError(f"action {action!r}; expected an integer in 0..{self.action_space.n - 1}") from None
        if not 0 <= a < self.action_space.n:
            raise InvalidActionError(f"action {a}; expected an integer in 0..{self.action_space.n - 1}")
        g = self.graph(self.scan)
        info_extra: Dict[str, Any] = {}
        terminated = a == STOP
        if not terminated:
            if a - 1 < len(self._cands):
                c = self._cands[a - 1]
                self.viewpoint = c["viewpoint"]
                self.heading = c["heading"]
                self.trajectory.append(self.viewpoint)
            else:
                info_extra["invalid_action"] = True
            self.steps += 1
        d = g.distance(self.viewpoint, self.goal)
        reward = float(self._dist - d)
        self._dist = d
        truncated = not terminated and self.steps >= self.config.max_steps
        if terminated and d < SUCCESS_DISTANCE:
            reward += self.config.success_reward
        obs = self._observation()
        info = self._info()
        info.update(info_extra)
        if terminated or truncated:
            self.done = True
            info["metrics"] = r2r_metrics(g, self.trajectory, self.current[0].path)
            info["trajectory"] = list(self.trajectory)
            info["stopped"] = bool(terminated)
        return obs, reward, terminated, truncated, info

    def render(self):
        if self.render_mode != "rgb_array" or self.current is None:
            return None
        pano = self._panorama(self.scan, self.viewpoint)
        return np.concatenate(list(pano[12:24]), axis=1)  # the level row, heading 0..330

    def close(self) -> None:
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None
