"""Rendering: sensor specs, the shared ray caster, ray-cast backends and shading.

Names are imported lazily so that importing a submodule (e.g. ``sensors``) does not
pull in Embree.
"""
from __future__ import annotations

from ..lazy import lazy_getattr

_EXPORTS = {
    "SensorSpec": "vlnsim.render.sensors",
    "RayCaster": "vlnsim.render.raycast",
    "RayHits": "vlnsim.render.raycast",
    "Renderer": "vlnsim.render.renderer",
    "BACKENDS": "vlnsim.render.renderer",
    "render_topdown": "vlnsim.render.renderer",
    "ShadingConfig": "vlnsim.render.shading",
    "colorize_depth": "vlnsim.render.shading",
    "colorize_semantic": "vlnsim.render.shading",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr('vlnsim.render', _EXPORTS, globals())
