"""The one config loader: YAML files, dotted overrides and OmegaConf structured configs.

Every config of the project (env, experiment, trainer and policy sections) is a
dataclass whose fields carry defaults and docstrings. This module turns YAML + dotted
``key=value`` overrides into an instance of such a dataclass with OmegaConf's
structured configs, which check nesting, unknown keys and types; range checks stay in
the dataclasses (``__post_init__`` or ``validate()``). Every failure becomes one
``ConfigError`` line naming the file and the key::

    data = read_yaml("configs/vln_r2r.yaml")          # dict (refuses empty files)
    data = apply_overrides(data, ["env.width=64"], source="configs/vln_r2r.yaml")
    cfg = to_dataclass(EnvConfig, data["env"], where="env", source="configs/vln_r2r.yaml")

Torch-free; imports nothing from ``envs`` or ``agents``.
"""
from __future__ import annotations

import dataclasses
import importlib
import math
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Type, TypeVar, Union

from .errors import ConfigError

T = TypeVar("T")
PathLike = Union[str, os.PathLike]


def resolve_config_path(name_or_path: PathLike) -> Path:
    """A config file path: through ``vlnsim.builtin_configs.resolve_config`` when that
    module exists (built-in names such as ``il_cma_demo_cpu``), else the path itself."""
    try:
        builtin = importlib.import_module("vlnsim.builtin_configs")
    except ModuleNotFoundError as exc:
        if exc.name != "vlnsim.builtin_configs":
            raise
        builtin = None
    if builtin is not None:
        return Path(builtin.resolve_config(name_or_path))
    p = Path(name_or_path)
    if not p.is_file():
        what = "a directory" if p.is_dir() else "not found"
        raise ConfigError(f"config file {str(p)!r} is {what}; expected a YAML file such as configs/il_cma_demo_cpu.yaml")
    return p


def read_yaml(path: PathLike) -> Dict[str, Any]:
    """Read a YAML mapping safely; syntax errors, empty files and non-mappings are ``ConfigError``."""
    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(p)!r} does not exist; expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {str(p)!r} cannot be read ({exc.__class__.__name__}: {exc}); expected a UTF-8 YAML file") from None
    try:
        data = yaml.safe_load(text)
        if isinstance(data, dict):  # OmegaConf's YAML loader: 1e-3 is a float, ${a.b} resolves
            data = OmegaConf.to_container(OmegaConf.create(text), resolve=True)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"config file {str(p)!r} has a YAML syntax error{where}: {problem}") from None
    except OmegaConfBaseException as exc:
        raise ConfigError(f"config file {str(p)!r} cannot be loaded: {_first_line(exc)}") from None
    if data is None:
        raise ConfigError(f"config file {str(p)!r} is empty; expected a YAML mapping of config sections "
                          "(refusing to run on defaults)")
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(p)!r} holds a YAML {type(data).__name__}; expected a mapping")
    return data


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str], source: Optional[str] = None) -> Dict[str, Any]:
    """``data`` with dotted ``key=value`` overrides merged in (values parsed as YAML)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    overrides = list(overrides or ())
    for item in overrides:
        if not isinstance(item, str) or "=" not in item or item.startswith("="):
            raise ConfigError(f"override {item!r}; expected key=value (e.g. trainer.lr=1e-3)")
    if not overrides:
        return dict(data)
    try:
        merged = OmegaConf.merge(OmegaConf.create(dict(data)), OmegaConf.from_dotlist(overrides))
        return OmegaConf.to_container(merged, resolve=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{_src(source)}overrides {overrides} cannot be applied: {_first_line(exc)}") from None


def to_dataclass(cls: Type[T], data: Any, where: str = "", source: Optional[str] = None) -> T:
    """Build dataclass ``cls`` from a mapping with OmegaConf's structured-config checks.

    Unknown keys, wrong types and non-mapping sections raise one ``ConfigError`` line
    naming ``source`` (the file) and the dotted key (prefixed by ``where``); errors the
    dataclass itself raises (range checks) are passed on with ``source`` prepended.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

    if isinstance(data, cls):
        return data
    if data is None:
        data = {}
    if dataclasses.is_dataclass(data):
        data = dataclasses.asdict(data)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{_src(source)}{where or cls.__name__}={data!r}; expected a mapping of {cls.__name__} fields")
    try:
        node = OmegaConf.merge(OmegaConf.structured(cls), dict(data))
        return OmegaConf.to_object(node)
    except ConfigKeyError as exc:
        key = _key(where, getattr(exc, "full_key", None))
        parent = getattr(exc, "object_type", None) or cls
        known = sorted(f.name for f in dataclasses.fields(parent)) if dataclasses.is_dataclass(parent) else []
        raise ConfigError(f"{_src(source)}unknown key {key!r}; expected one of {known}") from None
    except OmegaConfBaseException as exc:
        key = _key(where, getattr(exc, "full_key", None))
        msg = _first_line(exc)
        if not getattr(exc, "full_key", None) and msg.startswith("Invalid type assigned"):
            raise ConfigError(f"{_src(source)}{key or cls.__name__} has a wrong type; expected a mapping of "
                              f"{cls.__name__} fields") from None
        raise ConfigError(f"{_src(source)}{key}: {msg}" if key else f"{_src(source)}{msg}") from None
    except ConfigError as exc:
        raise ConfigError(f"{_src(source)}{exc}" if source and not str(exc).startswith(str(source)) else str(exc)) from None


def check_int(where: str, v: Any, minimum: int) -> None:
    """Range check: ``v`` is an integer >= ``minimum`` (``ConfigError`` naming ``where`` otherwise)."""
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ConfigError(f"{where}={v!r}; expected an integer >= {minimum}")


def check_number(where: str, v: Any, lo: float = -math.inf, hi: float = math.inf, lo_open: bool = False) -> None:
    """Range check: ``v`` is a finite number in [lo, hi] (or (lo, hi] with ``lo_open``)."""
    ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(float(v))
    ok = ok and (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        bound = f"{'>' if lo_open else '>='} {lo}" + (f" and <= {hi}" if hi < math.inf else "")
        raise ConfigError(f"{where}={v!r}; expected a finite number {bound}")


def check_choice(where: str, v: Any, choices: Sequence[str]) -> None:
    """Range check: ``v`` is one of ``choices``."""
    if v not in choices:
        raise ConfigError(f"{where}={v!r}; expected one of {list(choices)}")


def to_dict(obj: Any) -> Any:
    """A dataclass config as a plain nested dict (YAML/JSON serialisable)."""
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj


def _src(source: Optional[str]) -> str:
    return f"config {source}: " if source else ""


def _key(where: str, full_key: Optional[str]) -> str:
    full_key = str(full_key) if full_key else ""
    if where and full_key:
        return f"{where}.{full_key}"
    return where or full_key


def _first_line(exc: BaseException) -> str:
    msg = getattr(exc, "msg", None) or str(exc)
    return str(msg).strip().splitlines()[0] if str(msg).strip() else exc.__class__.__name__
