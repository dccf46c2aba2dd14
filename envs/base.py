"""The episode loop shared by the VLN and PointNav environments.

``NavEnv`` owns the dataset shard, the scene cache (one ``vlnsim.Simulator`` per scene),
the reward, the recorded path and the end-of-episode metrics. The concrete envs add
their task observations (instruction tokens, point goal) and success rule.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from vlnsim.agent import Action
from vlnsim.episodes import Episode
from vlnsim.errors import ConfigError, InvalidActionError
from vlnsim.render.sensors import SensorSpec

from .config import EnvConfig, load_config
from .episode_source import EpisodeSource
from .measures import GoalDistance
from .rewards import NavigationReward
from .scene_cache import LRUCache
from .sensors import camera_specs, oracle_observations, sensor_spaces


class SceneSlot:
    """One cached scene: its Simulator and a lazily drawn top-down map."""

    def __init__(self, scene_id: str, sim, topdown_mpp: float):
        self.scene_id = scene_id
        self.sim = sim
        self._topdown_mpp = topdown_mpp
        self._topdown = None

    def topdown(self):
        """(map image, ``MapInfo``) of the scene, built on first use (only ``render()`` needs it)."""
        if self._topdown is None:
            self._topdown = (self.sim.topdown_map(meters_per_pixel=self._topdown_mpp),
                             self.sim.topdown_map_info(meters_per_pixel=self._topdown_mpp))
        return self._topdown

    def close(self) -> None:
        close = getattr(self.sim, "close", None)
        if callable(close):
            close()


class NavEnv(gym.Env):
    """Base class: point-goal navigation over a dataset split (see ``VLNEnv``/``PointNavEnv``)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}
    task = "vln"

    def __init__(self, config: Any = None, render_mode: Optional[str] = None, **kwargs: Any):
        cfg = load_config(config, **kwargs) if kwargs or not isinstance(config, EnvConfig) else config
        if cfg.task != self.task:
            cfg = cfg.replace(task=self.task)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"render_mode={render_mode!r}; expected one of {self.metadata['render_modes']} or None")
        self.config: EnvConfig = cfg
        self.render_mode = render_mode
        self.episodes = EpisodeSource(cfg)
        self.sensors = self._sensor_specs()
        self.action_space = spaces.Discrete(len(Action))
        self.observation_space = spaces.Dict(self._observation_spaces())
        self._scenes: LRUCache[SceneSlot] = LRUCache(cfg.scene_cache_size, self._load_scene, lambda s: s.close())
        self._slot: Optional[SceneSlot] = None
        self._reward = NavigationReward(cfg.success_reward, cfg.slack_reward, cfg.distance_reward_weight)
        self._follower = None
        self.current_episode: Optional[Episode] = None
        self._started = False
        self._over = True
        self._raw_obs: Dict[str, np.ndarray] = {}
        self._path: List[List[float]] = []
        self._steps = 0
        # The env enforces the limit itself so that the final step carries the metrics.
        # (gymnasium.make's own max_episode_steps argument adds a TimeLimit wrapper the
        # env cannot see; set EnvConfig.max_episode_steps instead.)
        self._step_limit = cfg.max_episode_steps
        self._last_action: Optional[Action] = None
        self._distance = math.inf
        self._start_distance = math.inf
        self._final_metrics: Optional[Dict[str, float]] = None

    # ------------------------------------------------------------------ public state
    @property
    def sim(self):
        """The ``vlnsim.Simulator`` of the current episode's scene (None before ``reset``)."""
        return None if self._slot is None else self._slot.sim

    @property
    def goal(self) -> np.ndarray:
        """Goal position [x, y, z] of the current episode."""
        return np.asarray(self.current_episode.goals[0].position, dtype=np.float64)

    @property
    def path(self) -> List[List[float]]:
        """Agent positions so far (consecutive repeats from turns/collisions dropped)."""
        return [list(p) for p in self._path]

    @property
    def vocab(self):
        """The split's instruction ``Vocabulary`` (None when the split has no word list)."""
        return self.episodes.vocab

    @property
    def shard_episode_ids(self) -> list:
        """Ids of the episodes this env iterates over (its shard of the split)."""
        return [e.episode_id for e in self.episodes.episodes]

    @property
    def success_distance(self) -> float:
        return self.config.goal_success_distance

    # ------------------------------------------------------------------ spaces
    def _sensor_specs(self) -> List[SensorSpec]:
        return camera_specs(self.config)

    def _observation_spaces(self) -> Dict[str, spaces.Space]:
        out = sensor_spaces(self.config)
        out.update(self._task_spaces())
        return out

    def _task_spaces(self) -> Dict[str, spaces.Space]:
        return {}

    def _task_observations(self) -> Dict[str, np.ndarray]:
        return {}

    # ------------------------------------------------------------------ scenes
    def _load_scene(self, scene_id: str) -> SceneSlot:
        import vlnsim
        from vlnsim.episodes import resolve_scene_path

        path = resolve_scene_path(self.config.data_root, scene_id, must_exist=True)
        scene = vlnsim.load_scene(path)
        sim = vlnsim.Simulator(scene, sensors=self.sensors, agent=self.config.agent, backend=self.config.backend,
                               cell_size=self.config.cell_size)
        return SceneSlot(scene_id, sim, self.config.topdown_meters_per_pixel)

    # ------------------------------------------------------------------ episode loop
    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
        """Start the next episode (or ``options["episode_id"]``).

        A ``seed`` (or, on the very first reset, ``config.seed``) reseeds ``np_random``
        and restarts the episode order, so equal seeds replay equal episode sequences.
        """
        if seed is None and not self._started and self.config.seed is not None:
            seed = self.config.seed
        super().reset(seed=seed)
        if seed is not None or not self._started:
            self.episodes.restart(self.np_random)
        self._started = True
        options = options or {}
        unknown = sorted(set(options) - {"episode_id"})
        if unknown:
            raise ConfigError(f"reset options {unknown} are not supported; expected only 'episode_id'")
        if options.get("episode_id") is not None:
            episode = self.episodes.get(options["episode_id"])
        else:
            episode = self.episodes.next(self.np_random)
        self.current_episode = episode
        self._slot = self._scenes.get(episode.scene_id)
        self._follower = None
        self._raw_obs = self.sim.reset(position=episode.start_position, rotation=episode.start_rotation)
        self._path = [self._position()]
        self._steps = 0
        self._last_action = None
        self._over = False
        self._final_metrics = None
        self._goal_distance = GoalDistance(self.sim.pathfinder, self.goal)
        # exact l* for SPL; the per-step measure is the (much cheaper) grid geodesic
        self._start_geodesic = float(self.sim.pathfinder.geodesic_distance(self._path[0], self.goal))
        self._start_distance = self._goal_distance(self._path[0])
        self._distance = self._start_distance
        self._reward.reset(self._distance)
        self._on_reset()
        return self._observation(), self._info()

    def _on_reset(self) -> None:
        """Hook for task state set up at episode start."""

    def step(self, action: Any) -> Tuple[Dict[str, np.ndarray], float, bool, bool, Dict[str, Any]]:
        """Apply ``action``; ``terminated`` on STOP, ``truncated`` at ``max_episode_steps``."""
        if self._over:
            raise RuntimeError(
                "step() called on a finished episode (or before the first reset()); call reset() to start the next one"
            )
        act = self._parse_action(action)
        self._steps += 1
        self._last_action = act
        stopped = act == Action.STOP
        if stopped:
            # STOP does not move the agent: repeat the frame, as new arrays (callers keep
            # the previous observation and may modify it).
            self._raw_obs = {k: v.copy() for k, v in self._raw_obs.items()}
        else:
            self._raw_obs = self.sim.step(act)
            p = self._position()
            if p != self._path[-1]:  # turns and blocked moves leave d unchanged
                self._path.append(p)
                self._distance = self._goal_distance(p)
        success = stopped and self._is_success()
        reward = self._reward(self._distance, success)
        terminated = bool(stopped)
        truncated = bool(not terminated and self._steps >= self._step_limit)
        self._over = terminated or truncated
        info = self._info()
        if self._over:
            self._final_metrics = self.compute_metrics(stopped=stopped)
            info["metrics"] = dict(self._final_metrics)
            info["path"] = self.path
        return self._observation(), float(reward), terminated, truncated, info

    def _parse_action(self, action: Any) -> Action:
        a = np.asarray(action)
        if a.size != 1 or not np.issubdtype(a.dtype, np.integer):
            raise InvalidActionError(f"action {a.tolist()!r} is outside the action space Discrete(4); expected an integer in 0..3")
        code = int(a.reshape(()))
        if not 0 <= code < self.action_space.n:
            raise InvalidActionError(f"action {code} is outside the action space Discrete(4); expected an integer in 0..3")
        return Action(code)

    # ------------------------------------------------------------------ measures
    def _position(self) -> List[float]:
        return [float(v) for v in self.sim.agent_state.position]

    def _is_success(self) -> bool:
        # exact geodesic, as the success metric (the per-step measure is the grid one)
        return float(self.sim.pathfinder.geodesic_distance(self._path[-1], self.goal)) < self.success_distance

    def compute_metrics(self, stopped: bool) -> Dict[str, float]:
        """Episode metrics of the recorded path (``vlnsim.metrics.episode_metrics``).

        nDTW/SDTW/CLS compare against ``EpisodeSource.reference_locations`` (the split's
        ground-truth expert locations, as VLN-CE); SPL's l* is the exact geodesic
        start-goal distance at this env's agent settings.
        """
        from vlnsim import metrics

        reference = self.episodes.reference_locations(self.current_episode)
        return metrics.episode_metrics(self._path, reference, self.goal, stopped, self.sim.pathfinder.geodesic_distance,
                                       self._start_geodesic, success_distance=self.success_distance)

    def expert_action(self) -> int:
        """The shortest-path follower's next action towards the goal (the IL oracle)."""
        if self._follower is None:
            from vlnsim.nav.follower import ShortestPathFollower

            self._follower = ShortestPathFollower(self.sim, goal_radius=self.config.expert_radius)
        return int(self._follower.next_action(self.goal))

    def _observation(self) -> Dict[str, np.ndarray]:
        obs = {s.name: self._raw_obs[s.name] for s in self.sensors}
        obs.update(oracle_observations(self))
        obs.update(self._task_observations())
        return obs

    @property
    def episode_over(self) -> bool:
        """True once the current episode has ended (or before the first reset)."""
        return self._over

    def progress(self) -> float:
        """The ``progress`` oracle: 1 - geodesic_to_goal / geodesic_at_start, in [0, 1]."""
        d0, d = self._start_distance, self._distance
        if not (math.isfinite(d0) and math.isfinite(d)) or d0 <= 0:
            return 1.0 if d <= 0 else 0.0
        return float(np.clip(1.0 - d / d0, 0.0, 1.0))

    def _info(self) -> Dict[str, Any]:
        ep = self.current_episode
        return {
            "episode_id": ep.episode_id,
            "scene_id": ep.scene_id,
            "distance_to_goal": float(self._distance),
            "steps": self._steps,
        }

    # ------------------------------------------------------------------ rendering
    def running_metrics(self) -> Dict[str, float]:
        """Metrics shown while an episode runs (the final ones once it is over)."""
        if self._final_metrics is not None:
            return dict(self._final_metrics)
        from vlnsim.metrics import path_length

        return {"distance_to_goal": self._distance, "path_length": path_length(self._path)}

    def instruction_words(self) -> List[str]:
        """Words shown under the frame (the instruction's tokens for VLN)."""
        return []

    def render_frame(self, highlight=None) -> np.ndarray:
        """The composite frame of the current state, with optional attended-word weights."""
        from vlnsim.viz.composite import composite_frame

        from .topdown_overlay import draw_episode_map

        if self.current_episode is None:
            raise RuntimeError("render() before reset(): there is no episode to draw")
        rgb = self._raw_obs.get("rgb")
        depth = self._raw_obs.get("depth")
        # houses are a few metres across: a 5 m colour range shows more than the 10 m sensor range
        max_depth = 1.0 if self.config.normalize_depth else min(self.config.max_depth, 5.0)
        topdown = draw_episode_map(self._slot, self.current_episode, self._path, self.sim.agent_state)
        return composite_frame(
            rgb=rgb, depth=depth, topdown=topdown, instruction=self.instruction_words(), highlight=highlight,
            action=None if self._last_action is None else self._last_action.name, step=self._steps,
            metrics=self.running_metrics(), max_depth=max_depth,
        )

    def render(self):
        """``render_mode="rgb_array"``: the composite frame; otherwise nothing."""
        if self.render_mode != "rgb_array":
            return None
        return self.render_frame()

    def close(self) -> None:
        self._scenes.clear()
        self._slot = None
        super().close()
