"""``vlnsim/PointNav-v0``: reach a goal given by GPS+compass (habitat's PointGoal task)."""
from __future__ import annotations

import math
from typing import Dict, List

import numpy as np
from gymnasium import spaces

from vlnsim import metrics as nav_metrics
from vlnsim.geometry import quat_to_matrix

from .base import NavEnv

# habitat's Box bounds for the point goal: any distance, any bearing.
_F32 = np.finfo(np.float32)


def pointgoal_polar(position, rotation, goal) -> np.ndarray:
    """(rho, phi) of ``goal`` in the agent frame, as habitat's ``PointGoalWithGPSCompassSensor``.

    rho is the Euclidean distance (m); phi the bearing in radians, 0 straight ahead
    and positive to the agent's left (counter-clockwise seen from above).
    """
    d_world = np.asarray(goal, dtype=np.float64) - np.asarray(position, dtype=np.float64)
    # world -> agent frame: agent looks along -Z, +X to its right
    d = quat_to_matrix(rotation).T @ d_world
    rho = math.hypot(d[0], d[2])
    phi = math.atan2(-d[0], -d[2])
    return np.array([rho, phi], dtype=np.float32)


class PointNavEnv(NavEnv):
    """Point-goal navigation over the same episode splits (no instruction).

    Description:
        Reach the episode's goal, told only its polar coordinates relative to the agent
        at every step (perfect GPS+compass), and call STOP.

    Observation (``Dict``): the camera sensors as ``VLNEnv``, plus
        ``pointgoal_with_gps_compass`` float32 (2,) = (rho, phi): distance to the goal
        and bearing (radians, positive to the left); optional ``expert_action``,
        ``progress``.

    Action: ``Discrete(4)`` with habitat's codes.

    Rewards: as ``VLNEnv`` (geodesic progress, slack, success bonus).

    Termination: STOP (``terminated``) or ``max_episode_steps`` (``truncated``).
    Success: STOP within ``success_distance`` (default 0.2 m, habitat PointNav) of the
    goal. ``info["metrics"]`` keys as VLN; success, spl, oracle_success and sdtw use the
    0.2 m radius while ndtw and cls keep the 3 m VLN threshold (a 0.2 m DTW scale
    would make them meaningless).

    Registered ids: ``vlnsim/PointNav-v0``.
    """

    task = "pointnav"

    def _task_spaces(self) -> Dict[str, spaces.Space]:
        return {
            "pointgoal_with_gps_compass": spaces.Box(
                np.array([0.0, -math.pi], dtype=np.float32), np.array([_F32.max, math.pi], dtype=np.float32), (2,), np.float32
            )
        }

    def _task_observations(self) -> Dict[str, np.ndarray]:
        s = self.sim.agent_state
        pg = pointgoal_polar(s.position, s.rotation, self.goal)
        pg[1] = np.clip(pg[1], np.float32(-math.pi), np.float32(math.pi))
        return {"pointgoal_with_gps_compass": pg}

    def compute_metrics(self, stopped: bool) -> Dict[str, float]:
        """VLN metrics with success-based ones at ``success_distance`` and DTW ones at 3 m."""
        pf = self.sim.pathfinder
        reference = self.episodes.reference_locations(self.current_episode)
        out = nav_metrics.episode_metrics(self._path, reference, self.goal, stopped, pf.geodesic_distance,
                                          self._start_geodesic, success_distance=nav_metrics.DEFAULT_THRESHOLD)
        success = nav_metrics.is_success(stopped, out["ne"], self.success_distance)
        out["success"] = float(success)
        out["spl"] = nav_metrics.spl(success, self._start_geodesic, out["tl"])
        out["oracle_success"] = float(nav_metrics.oracle_success(self._path, self.goal, pf.geodesic_distance,
                                                                 self.success_distance))
        out["sdtw"] = out["ndtw"] if success else 0.0
        return out

    def instruction_words(self) -> List[str]:
        rho, phi = self._task_observations()["pointgoal_with_gps_compass"]
        return f"PointNav: goal {rho:.2f} m away at {math.degrees(phi):+.0f} deg".split()
