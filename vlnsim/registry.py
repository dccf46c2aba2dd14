"""Named registries: the one table per extension point (trainers, policies, baselines ...).

A ``Registry`` maps names to objects (classes or factories) plus free-form metadata::

    TRAINERS = Registry("trainer", discover=("agents.trainers",))

    @TRAINERS.register("dagger", config=TrainerConfig)
    class ILTrainer: ...

    TRAINERS.get("dagger")            # -> ILTrainer
    TRAINERS.meta("dagger")["config"]  # -> TrainerConfig
    TRAINERS.names()                   # -> ["dagger", ...]  (CLI choices come from here)

``discover`` lists packages whose modules are imported (once, on the first lookup) so
that a new entry is one new module in such a package: its decorator registers it. This
module is torch-free and imports nothing from ``envs`` or ``agents``.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable, Dict, Iterator, List, Sequence, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry:
    """Names -> objects for one kind of component.

    Args:
        kind: what is registered ("trainer", "policy", "baseline agent"); used in errors.
        discover: packages (dotted names) whose direct sub-modules are imported before
            the first lookup, so that their ``@register`` decorators run.
    """

    def __init__(self, kind: str, discover: Sequence[str] = ()):
        self.kind = kind
        self._discover = tuple(discover)
        self._discovered = not self._discover
        self._objects: Dict[str, Any] = {}
        self._meta: Dict[str, Dict[str, Any]] = {}

    # ----- registration -------------------------------------------------------------------
    def register(self, name: str, **meta: Any) -> Callable[[T], T]:
        """Decorator registering a class or function under ``name`` (with ``meta``)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} registry: name {name!r}; expected a non-empty string")

        def deco(obj: T) -> T:
            self.add(name, obj, **meta)
            return obj

        return deco

    def add(self, name: str, obj: Any, **meta: Any) -> None:
        """Register ``obj`` under ``name``; a second, different object under one name is an error."""
        old = self._objects.get(name)
        if old is not None and not _same(old, obj):
            raise ValueError(f"{self.kind} {name!r} is registered twice ({_where(old)} and {_where(obj)}); "
                             "expected unique names")
        self._objects[name] = obj
        self._meta[name] = dict(meta)

    # ----- lookup ---------------------------------------------------------------------------
    def _ensure(self) -> None:
        if self._discovered:
            return
        self._discovered = True  # set first: discovered modules may look entries up
        for package in self._discover:
            pkg = importlib.import_module(package)
            for info in pkgutil.iter_modules(getattr(pkg, "__path__", [])):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{package}.{info.name}")

    def get(self, name: str) -> Any:
        """The object registered as ``name``; unknown names raise ``ConfigError`` listing the choices."""
        self._ensure()
        try:
            return self._objects[name]
        except (KeyError, TypeError):
            raise ConfigError(f"unknown {self.kind} {name!r}; expected one of {self.names()}") from None

    def meta(self, name: str) -> Dict[str, Any]:
        """The metadata given at registration (a copy)."""
        self.get(name)
        return dict(self._meta[name])

    def names(self) -> List[str]:
        """Registered names, sorted."""
        self._ensure()
        return sorted(self._objects)

    def __contains__(self, name: object) -> bool:
        self._ensure()
        return name in self._objects

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self._objects)})"


class LazyChoices:
    """``argparse`` choices filled from a registry only when first used.

    ``choices=LazyChoices("envs.baselines:BASELINES")`` keeps a command's ``register()``
    free of heavy imports: ``vlnsim --help`` never touches it, ``vlnsim eval --help`` and
    parsing do.
    """

    def __init__(self, target: str):
        self.target = target

    def _names(self) -> List[str]:
        module, _, attr = self.target.partition(":")
        return list(getattr(importlib.import_module(module), attr).names())

    def __contains__(self, item: object) -> bool:
        return item in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def _same(a: Any, b: Any) -> bool:
    """Same object, or the same class/function re-created by a module re-import."""
    if a is b:
        return True
    return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == \
        (getattr(b, "__module__", None), getattr(b, "__qualname__", None)) and getattr(a, "__qualname__", None) is not None


def _where(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
