"""The episode overlay on a scene's top-down map: reference path, agent path, goal, agent.

Drawn with ``vlnsim.viz.topdown``'s helpers on a copy of the scene's cached map.
"""
from __future__ import annotations

import numpy as np

from vlnsim.geometry import yaw_from_quat
from vlnsim.viz.topdown import draw_agent, draw_goal, draw_path

REFERENCE = (40, 110, 240)
AGENT_PATH = (230, 60, 40)
GOAL = (30, 160, 60)
AGENT = (250, 190, 0)


def draw_episode_map(slot, episode, path, agent_state) -> np.ndarray:
    """The top-down map of ``slot`` with the episode's reference path, agent path, goal and agent."""
    base, info = slot.topdown()
    img = base.copy()
    px = max(1, int(round(0.05 / info.meters_per_pixel)))  # ~5 cm lines
    if episode.reference_path and len(episode.reference_path) > 1:
        draw_path(img, episode.reference_path, color=REFERENCE, info=info, thickness=2 * px)
    if len(path) > 1:
        draw_path(img, path, color=AGENT_PATH, info=info, thickness=2 * px)
    draw_goal(img, episode.goals[0].position, info, color=GOAL, radius_px=max(5, int(round(0.25 / info.meters_per_pixel))))
    draw_agent(img, agent_state.position, yaw_from_quat(agent_state.rotation), info, color=AGENT,
               radius_px=max(4, int(round(0.15 / info.meters_per_pixel))))
    return img
