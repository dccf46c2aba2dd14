"""Lazy package exports: import a public name's module only when it is first used.

Keeps ``import vlnsim`` fast and torch-free, and lets ``vlnsim.render.sensors`` be
imported without pulling in Embree.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict


def lazy_getattr(package: str, exports: Dict[str, str], namespace: Dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``exports[name]`` (a module path) on first use.

    A name equal to its module's last component (``vlnsim.metrics``) resolves to the
    module itself; resolved values are stored in ``namespace`` so later lookups are
    plain attribute reads.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        mod = importlib.import_module(module)
        value = mod if module.endswith("." + name) else getattr(mod, name)
        namespace[name] = value
        return value

    return __getattr__
