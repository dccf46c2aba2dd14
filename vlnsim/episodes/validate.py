"""Checks of episodes against a scene's navigable area."""
from __future__ import annotations

import math
from typing import Iterable

from ..errors import EpisodeFormatError, InvalidPoseError
from .model import Episode


def check_episode_navigable(episode: Episode, pathfinder, where: str = "", check_reachable: bool = True) -> None:
    """Raise ``EpisodeFormatError`` if the start or a goal is off the navigable area (or unreachable).

    ``pathfinder`` is the episode scene's ``PathFinder`` (``Simulator.pathfinder``).
    """
    prefix = f"{where}: " if where else ""
    prefix += f"episode {episode.episode_id!r} (scene {episode.scene_id!r})"
    points = [("start_position", episode.start_position)] + [
        (f"goals[{i}].position", g.position) for i, g in enumerate(episode.goals)]
    for field, p in points:
        try:
            ok = pathfinder.is_navigable(p)
        except InvalidPoseError as exc:
            raise EpisodeFormatError(f"{prefix}: field {field!r} = {list(p)} is outside the scene: {exc}") from None
        if not ok:
            raise EpisodeFormatError(f"{prefix}: field {field!r} = {list(p)} is not on the navigable area")
    if check_reachable:
        for i, g in enumerate(episode.goals):
            d = pathfinder.geodesic_distance(episode.start_position, g.position)
            if not math.isfinite(d):
                raise EpisodeFormatError(f"{prefix}: field 'goals[{i}].position' is not reachable from the start")


def check_navigable(episodes: Iterable[Episode], pathfinder, where: str = "", check_reachable: bool = True) -> None:
    """``check_episode_navigable`` for every episode (all in the pathfinder's scene)."""
    for e in episodes:
        check_episode_navigable(e, pathfinder, where, check_reachable)
