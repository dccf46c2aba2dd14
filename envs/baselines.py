"""Baseline agents with the rollout interface ``reset()`` / ``act(obs) -> (action, weights)``.

* ``random``: samples actions with VLN-CE's random-agent distribution (STOP 0.02,
  FORWARD 0.68, LEFT 0.15, RIGHT 0.15), seeded.
* ``forward-only``: MOVE_FORWARD ``num_steps`` times (VLN-CE's hand-crafted baseline
  uses 37, about the mean R2R path length at 0.25 m/step), then STOP.
* ``expert``: the shortest-path follower on the env's simulator (the IL oracle); it
  stops within ``EnvConfig.expert_goal_radius`` of the goal.

``weights`` (attended instruction words) is always None for these. Each is registered
in ``BASELINES`` (a ``vlnsim.registry.Registry``; the CLI's ``--agent`` choices come from
it) and built with ``make_baseline(name, env, seed)`` -> ``cls.create(env, seed)``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from vlnsim.agent import Action
from vlnsim.errors import ConfigError
from vlnsim.registry import Registry

ActResult = Tuple[int, Optional[List[float]]]

RANDOM_ACTION_PROBS = (0.02, 0.68, 0.15, 0.15)

BASELINES = Registry("baseline agent")


@BASELINES.register("random")
class RandomAgent:
    """Draws each action independently from ``probs`` (one seeded generator per agent)."""

    name = "random"

    def __init__(self, seed: int = 0, probs=RANDOM_ACTION_PROBS):
        p = np.asarray(probs, dtype=np.float64)
        if p.shape != (len(Action),) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
            raise ConfigError(f"random agent probs={list(probs)}; expected {len(Action)} non-negative numbers summing to 1")
        self.probs = p
        self.rng = np.random.default_rng(seed)

    @classmethod
    def create(cls, env=None, seed: int = 0) -> "RandomAgent":
        return cls(seed=seed)

    def reset(self) -> None:
        """Nothing to forget between episodes (the generator keeps running)."""

    def act(self, obs: Dict[str, Any]) -> ActResult:
        return int(self.rng.choice(len(Action), p=self.probs)), None


@BASELINES.register("forward-only")
class ForwardOnlyAgent:
    """MOVE_FORWARD ``num_steps`` times, then STOP."""

    name = "forward-only"

    def __init__(self, num_steps: int = 37):
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 0:
            raise ConfigError(f"forward-only num_steps={num_steps!r}; expected a non-negative integer")
        self.num_steps = num_steps
        self._t = 0

    @classmethod
    def create(cls, env=None, seed: int = 0) -> "ForwardOnlyAgent":
        return cls()

    def reset(self) -> None:
        self._t = 0

    def act(self, obs: Dict[str, Any]) -> ActResult:
        self._t += 1
        return (int(Action.MOVE_FORWARD) if self._t <= self.num_steps else int(Action.STOP)), None


@BASELINES.register("expert")
class ExpertAgent:
    """Follows the geodesic shortest path to the current episode's goal, then STOPs."""

    name = "expert"

    def __init__(self, env):
        base = getattr(env, "unwrapped", env)
        if not hasattr(base, "expert_action"):
            raise ConfigError(f"the expert agent needs a vlnsim env (envs.NavEnv); got {type(base).__name__}")
        self.env = base

    @classmethod
    def create(cls, env=None, seed: int = 0) -> "ExpertAgent":
        if env is None:
            raise ConfigError("the expert baseline needs the env it acts in: make_baseline('expert', env)")
        return cls(env)

    def reset(self) -> None:
        """The follower is rebuilt by the env at every episode start."""

    def act(self, obs: Dict[str, Any]) -> ActResult:
        if "expert_action" in obs:
            return int(np.asarray(obs["expert_action"]).reshape(-1)[0]), None
        return int(self.env.expert_action()), None


def make_baseline(name: str, env=None, seed: int = 0):
    """The baseline agent registered as ``name`` (``BASELINES.names()``: expert, forward-only, random)."""
    return BASELINES.get(name).create(env=env, seed=seed)
