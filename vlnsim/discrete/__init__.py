"""Discrete (R2R / Matterport3DSimulator-style) navigation over vlnsim scenes.

Torch-free. ``build_nav_graph`` places viewpoints and edges on a scene's navigability
grid; ``NavGraph`` answers graph distances and shortest paths; ``connectivity`` reads
and writes ``<scan>_connectivity.json``; ``metrics`` computes R2R's evaluation on the
graph; ``generate`` writes R2R datasets; ``panorama`` renders the 36-view panorama.
"""
from __future__ import annotations

from vlnsim.lazy import lazy_getattr

_EXPORTS = {
    "NavGraph": "vlnsim.discrete.graph",
    "GraphConfig": "vlnsim.discrete.build",
    "build_nav_graph": "vlnsim.discrete.build",
    "load_connectivity": "vlnsim.discrete.connectivity",
    "save_connectivity": "vlnsim.discrete.connectivity",
    "connectivity_path": "vlnsim.discrete.connectivity",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr("vlnsim.discrete", _EXPORTS, globals())
