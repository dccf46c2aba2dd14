"""Rendering: sensor specs, the shared ray caster, ray-cast backends and shading.

Names are imported lazily so that importing a submodule (e.g. ``sensors``) does not
pull in Embree.
"""
from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vlnsim.render' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
