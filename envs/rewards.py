"""habitat's navigation reward: geodesic progress, a per-step slack and a success bonus.

``reward_t = -(d_t - d_{t-1}) * distance_reward_weight + slack_reward
+ success_reward * 1[success at t]``, with ``d`` the geodesic distance to the goal
(habitat-lab ``NavRLEnv.get_reward`` with the ``distance_to_goal`` measure; the envs
pass the grid geodesic of ``envs.measures.GoalDistance``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional


@dataclass
class NavigationReward:
    """Stateful reward of one episode (call ``reset`` at its start).

    Attributes:
        success_reward: bonus added on the step that ends in success.
        slack_reward: added on every step (negative: a time penalty).
        distance_reward_weight: weight of the decrease in geodesic distance.
    """

    success_reward: float = 2.5
    slack_reward: float = -0.01
    distance_reward_weight: float = 1.0
    _previous: Optional[float] = None

    def reset(self, distance_to_goal: float) -> None:
        """Start an episode at ``distance_to_goal`` metres from the goal."""
        self._previous = float(distance_to_goal)

    def __call__(self, distance_to_goal: float, success: bool) -> float:
        """Reward of one step that left the agent ``distance_to_goal`` from the goal."""
        if self._previous is None:
            raise RuntimeError("NavigationReward called before reset(distance_to_goal)")
        d = float(distance_to_goal)
        reward = float(self.slack_reward)
        # An unreachable goal (inf) makes the difference undefined; progress then counts 0
        # rather than poisoning returns with nan.
        if math.isfinite(d) and math.isfinite(self._previous):
            reward += -(d - self._previous) * float(self.distance_reward_weight)
        self._previous = d
        if success:
            reward += float(self.success_reward)
        return reward
