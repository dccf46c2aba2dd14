"""vlnsim: an embodied vision-and-language navigation simulator.

The public names below are imported lazily so that ``import vlnsim`` stays fast and
torch-free; see docs/ARCHITECTURE.md for the stable API.
"""
from __future__ import annotations

from .lazy import lazy_getattr

__version__ = "0.1.0"

_EXPORTS = {
    "Scene": "vlnsim.scene.model",
    "SceneObject": "vlnsim.scene.model",
    "Room": "vlnsim.scene.model",
    "Material": "vlnsim.scene.model",
    "load_scene": "vlnsim.scene.io",
    "generate_house": "vlnsim.scene.house",
    "SensorSpec": "vlnsim.render.sensors",
    "Renderer": "vlnsim.render.renderer",
    "Action": "vlnsim.agent",
    "AgentConfig": "vlnsim.agent",
    "AgentState": "vlnsim.agent",
    "Simulator": "vlnsim.simulator",
    "ShortestPathFollower": "vlnsim.nav.follower",
    "PathFinder": "vlnsim.nav.pathfinder",
    "metrics": "vlnsim.metrics",
    "episodes": "vlnsim.episodes",
    "errors": "vlnsim.errors",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr('vlnsim', _EXPORTS, globals())


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
