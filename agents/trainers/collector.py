"""Batched rollouts over a set of envs for DAgger: expert labels + chosen executed actions.

``RolloutCollector`` steps ``num_envs`` environments in lock-step, each started on a
given episode id (``reset(options={"episode_id": ...})``), so which episodes a round
collects is decided by the trainer (per rank, per iteration) and resume replays it.
At every step it records the expert's action (the ``expert_action`` oracle) as the
label and executes the expert's action with probability beta, else the policy's.

Frames are stored as the policy consumes them: frozen encoders' features (float16:
CLIP pooled + patch features, depth-trunk features), trainable encoders' raw inputs
(RGB uint8, depth float16), plus the semantic grid histogram (float16
``semantic_features``) when the policy reads the semantic input. With a
``FeatureCache`` (all per-frame encoders frozen) the env renders a 1x1 semantic image
only and the collector renders RGB-D (and semantic) itself (same sensor specs) on a
cache miss.
"""
from __future__ import annotations

import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from vlnsim.render.sensors import SensorSpec

from ..feature_cache import FeatureCache
from ..policies.base import obs_to_tensors
from .buffer import EpisodeRecord


def camera_specs(cfg, semantic: bool = False) -> List[SensorSpec]:
    """The RGB and depth (and semantic) sensor specs an env with ``cfg`` (an EnvConfig) mounts (``envs.sensors``)."""
    from envs.sensors import camera_specs as specs

    return specs(cfg, ("rgb", "depth", "semantic") if semantic else ("rgb", "depth"))


class FrameEncoder:
    """Turns RGB-D into what the buffer stores and the policy reads (see module doc)."""

    def __init__(self, policy, device: torch.device):
        self.policy = policy
        self.device = device
        self.frozen = policy.rgb_frozen
        # Per-pose caching needs every per-frame encoder frozen (else raw frames are stored).
        self.cacheable = policy.rgb_frozen and policy.depth_frozen

    @property
    def semantic(self) -> bool:
        """Whether the policy reads the semantic input."""
        return getattr(self.policy, "semantic_encoder", None) is not None

    @torch.no_grad()
    def encode(self, rgb: np.ndarray, depth: np.ndarray, semantic: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
        """(B,H,W,3) uint8 + (B,H,W,1) float (+ (B,H,W) categories) -> per-frame arrays (float16 features or raw RGB)."""
        out = self._encode(rgb, depth)
        if self.semantic:
            cats = torch.as_tensor(np.asarray(semantic)).to(self.device)
            out["semantic_features"] = self.policy.semantic_encoder.histogram(cats).cpu().numpy().astype(np.float16)
        return out

    def _encode(self, rgb: np.ndarray, depth: np.ndarray) -> Dict[str, np.ndarray]:
        if self.policy.depth_frozen:
            d = torch.as_tensor(np.asarray(depth, dtype=np.float32)).to(self.device)
            out = {"depth_features": self.policy.depth_encoder.spatial_features(d).float().cpu().numpy().astype(np.float16)}
        else:
            out = {"depth": np.asarray(depth, dtype=np.float16)}
        if self.policy.clip is None:
            return out
        if not self.frozen:
            out["rgb"] = np.asarray(rgb, dtype=np.uint8)
            return out
        f = self.policy.clip.encode_image(torch.as_tensor(np.asarray(rgb)).to(self.device))
        out["rgb_pooled"] = f.pooled.float().cpu().numpy().astype(np.float16)
        out["rgb_patches"] = f.patches.float().cpu().numpy().astype(np.float16)
        return out


class RolloutCollector:
    """DAgger data collection over ``num_envs`` envs of one EnvConfig.

    Args:
        env_config: the training ``envs.EnvConfig`` (oracle sensors are switched on here).
        num_envs: envs stepped together (one policy forward per step for all of them).
        policy: the policy (unwrapped module) used when beta < 1.
        device: torch device of the policy.
        cache: optional FeatureCache (needs a frozen RGB tower).
        max_steps: an episode is cut after this many steps.
    """

    def __init__(self, env_config, num_envs: int, policy, device: torch.device,
                 cache: Optional[FeatureCache] = None, max_steps: int = 500):
        import envs

        self.policy = policy
        self.device = device
        self.encoder = FrameEncoder(policy, device)
        self.cache = cache if (cache is not None and self.encoder.cacheable) else None
        self.max_steps = int(max_steps)
        cfg = env_config.replace(expert_action_sensor=True, progress_sensor=True)
        self.specs = camera_specs(cfg, semantic=self.encoder.semantic)
        if self.cache is not None:
            # The env still needs one camera; a 1x1 semantic image costs one ray per step.
            cfg = cfg.replace(rgb=False, depth=False, semantic=True, width=1, height=1)
        self.envs = [envs.make_env(cfg) for _ in range(num_envs)]
        self.steps_collected = 0
        self.seconds = 0.0
        self._renderers: dict = {}
        self._tables: dict = {}

    def close(self) -> None:
        for e in self.envs:
            e.close()

    # ----- frames -----------------------------------------------------------------------
    def _frames(self, obs_list: Sequence[dict], idx: Sequence[int]) -> List[Dict[str, np.ndarray]]:
        """Per-env frame arrays for the active env indices ``idx``."""
        if self.cache is None:
            rgb = np.stack([obs_list[i]["rgb"] for i in idx]) if "rgb" in obs_list[idx[0]] else None
            depth = np.stack([obs_list[i]["depth"] for i in idx])
            sem = np.stack([obs_list[i]["semantic_category"] for i in idx]) if self.encoder.semantic else None
            enc = self.encoder.encode(rgb, depth, sem)
            return [{k: v[j] for k, v in enc.items()} for j in range(len(idx))]
        out: List[Optional[Dict[str, np.ndarray]]] = [None] * len(idx)
        keys, miss = [], []
        for j, i in enumerate(idx):
            env = self.envs[i].unwrapped
            state = env.sim.agent_state
            key = self.cache.key(env.current_episode.scene_id, state.position, state.rotation)
            keys.append(key)
            hit = self.cache.get(key)
            if hit is None:
                miss.append(j)
            else:
                out[j] = hit
        if miss:
            # Misses are encoded in a batch of fixed size (padded to num_envs): CPU kernels
            # round differently for different batch sizes, and the features of a pose must
            # not depend on which other poses missed with it (i.e. on what the cache held),
            # so that a resumed run (empty cache) reproduces the uninterrupted one bit for bit.
            rendered = []
            for j in miss:
                env = self.envs[idx[j]].unwrapped
                state = env.sim.agent_state
                rendered.append(_render(env.sim, self.specs, state.position, state.rotation, self._renderers))
            pad = [rendered[0]] * (len(self.envs) - len(rendered))
            sem = None
            if self.encoder.semantic:
                from envs.sensors import semantic_category

                sem = []
                for j, r in zip(miss, rendered):
                    scene = self.envs[idx[j]].unwrapped.sim.scene
                    sem.append(semantic_category(r["semantic"], self._category_table(scene)))
                sem = np.stack(sem + [sem[0]] * len(pad))
            enc = self.encoder.encode(np.stack([r["rgb"] for r in rendered + pad]),
                                      np.stack([r["depth"] for r in rendered + pad]), sem)
            for n, j in enumerate(miss):
                f = {k: v[n] for k, v in enc.items()}
                self.cache.put(keys[j], f)
                out[j] = f
        return out

    def _category_table(self, scene) -> np.ndarray:
        """The object-id -> category lookup of ``scene`` (one per loaded scene)."""
        from envs.sensors import category_table

        entry = self._tables.get(id(scene))
        if entry is None or entry[0] is not scene:
            if len(self._tables) >= 16:
                self._tables.pop(next(iter(self._tables)))
            entry = self._tables[id(scene)] = (scene, category_table(scene))
        return entry[1]

    # ----- rollouts ---------------------------------------------------------------------
    def _queues(self, episode_ids: Sequence[str]) -> List[List[str]]:
        """Contiguous runs of the scene-sorted episodes, one per env (popped from the end).

        Loading a scene (mesh, ray-cast structure, navigability) is the slow part of a
        reset, so each env works through few scenes instead of all envs visiting all.
        """
        source = self.envs[0].unwrapped.episodes
        ids = sorted(episode_ids, key=lambda e: (source.get(e).scene_id, str(e)))
        n = len(self.envs)
        bounds = np.linspace(0, len(ids), n + 1).round().astype(int)
        return [list(reversed(ids[bounds[k]:bounds[k + 1]])) for k in range(n)]

    @torch.no_grad()
    def collect(self, episode_ids: Sequence[str], beta: float, seed: Sequence[int], progress: bool = False,
                desc: str = "collect") -> List[EpisodeRecord]:
        """Run each of ``episode_ids`` once; return their records in the order given."""
        from tqdm import tqdm

        t0 = time.perf_counter()
        bar = tqdm(total=len(episode_ids), desc=desc, unit="ep", disable=not progress, leave=False)
        rng = np.random.default_rng(list(seed))
        # On the policy's device: torch.multinomial refuses a CPU generator for CUDA probabilities.
        gen = torch.Generator(device=self.device).manual_seed(int(rng.integers(2 ** 62)))
        n = len(self.envs)
        order = {eid: k for k, eid in enumerate(episode_ids)}
        queues = self._queues(episode_ids)
        obs: List[Optional[dict]] = [None] * n
        active = [False] * n
        rec: List[Optional[dict]] = [None] * n
        done: Dict[int, EpisodeRecord] = {}
        use_policy = beta < 1.0
        hidden = self.policy.initial_hidden(n, self.device) if use_policy else None
        prev = torch.zeros(n, dtype=torch.long, device=self.device)
        masks = torch.zeros(n, device=self.device)

        def start(i: int) -> None:
            eid = queues[i].pop()
            o, info = self.envs[i].reset(options={"episode_id": eid})
            obs[i] = o
            active[i] = True
            rec[i] = {"id": eid, "instruction": o["instruction"][o["instruction_mask"].astype(bool)].copy(),
                      "frames": [], "prev": [], "actions": [], "labels": [], "progress": []}
            masks[i] = 0.0
            prev[i] = 0

        for i in range(n):
            if queues[i]:
                start(i)
        while any(active):
            idx = [i for i in range(n) if active[i]]
            frames = self._frames(obs, idx)
            labels = np.array([int(obs[i]["expert_action"][0]) for i in idx])
            actions = labels.copy()
            if use_policy:
                batch = {k: torch.from_numpy(np.stack([f[k] for f in frames])).to(self.device).float()
                         for k in frames[0] if k != "rgb"}
                if "rgb" in frames[0]:
                    batch["rgb"] = torch.from_numpy(np.stack([f["rgb"] for f in frames])).to(self.device)
                batch["instruction"] = torch.from_numpy(np.stack([obs[i]["instruction"] for i in idx])).to(self.device)
                batch["instruction_mask"] = torch.from_numpy(np.stack([obs[i]["instruction_mask"] for i in idx])).to(self.device)
                sel = torch.tensor(idx, device=self.device)
                a, h, _ = self.policy.act(batch, hidden[sel], prev[sel], masks[sel], deterministic=False, generator=gen)
                hidden[sel] = h.float()
                expert_mask = rng.random(len(idx)) < beta
                actions = np.where(expert_mask, labels, a.cpu().numpy())
            for j, i in enumerate(idx):
                r = rec[i]
                r["frames"].append(frames[j])
                r["prev"].append(int(prev[i]))
                r["actions"].append(int(actions[j]))
                r["labels"].append(int(labels[j]))
                r["progress"].append(float(obs[i]["progress"][0]))
                o, _, term, trunc, _ = self.envs[i].step(int(actions[j]))
                obs[i] = o
                prev[i] = int(actions[j])
                masks[i] = 1.0
                if term or trunc or len(r["labels"]) >= self.max_steps:
                    done[order[r["id"]]] = _finish(r)
                    bar.update(1)
                    active[i] = False
                    if queues[i]:
                        start(i)
        bar.close()
        self.steps_collected += sum(len(r) for r in done.values())
        self.seconds += time.perf_counter() - t0
        if self.cache is not None:
            self.cache.flush()
        return [done[k] for k in sorted(done)]


def _finish(r: dict) -> EpisodeRecord:
    frames = {k: np.stack([f[k] for f in r["frames"]]) for k in r["frames"][0]}
    return EpisodeRecord(
        episode_id=str(r["id"]), instruction=np.asarray(r["instruction"], dtype=np.int64), frames=frames,
        prev_actions=np.asarray(r["prev"], dtype=np.int64), actions=np.asarray(r["actions"], dtype=np.int64),
        labels=np.asarray(r["labels"], dtype=np.int64), progress=np.asarray(r["progress"], dtype=np.float32),
    )


def _render(sim, specs: Sequence[SensorSpec], position, rotation, renderers: dict) -> Dict[str, np.ndarray]:
    """Render ``specs`` at an agent pose with a renderer sharing the simulator's ray caster."""
    entry = renderers.get(id(sim))
    if entry is None or entry[0] is not sim:
        from vlnsim.render.renderer import Renderer

        raycaster = getattr(sim, "raycaster", None) if getattr(sim, "backend", "embree") == "embree" else None
        entry = (sim, Renderer(sim.scene, backend=getattr(sim, "backend", "embree"), raycaster=raycaster))
        if len(renderers) >= 16:  # envs evict scenes; keep only recent renderers alive
            renderers.pop(next(iter(renderers)))
        renderers[id(sim)] = entry
    return entry[1].render(specs, position, rotation)
