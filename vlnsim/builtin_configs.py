"""The built-in experiment configs shipped inside the package (``vlnsim configs`` lists them).

The YAML files live in the repository's top-level ``configs/`` directory; the package
reaches them through ``vlnsim/configs`` (a link to ``../configs`` in the checkout, real
files in the built wheel and sdist, which copy the linked files as package data), so a
``pip install``-ed vlnsim finds them from any working directory.

``--config`` arguments accept either a path to a YAML file or the name of a built-in
config, with or without ``.yaml``: ``il_cma_demo_cpu``, ``il_cma_demo_cpu.yaml`` and
``configs/il_cma_demo_cpu.yaml`` (when no such file exists in the working directory)
all resolve to the shipped file.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Union

from .errors import ConfigError

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class BuiltinConfig:
    """One shipped config: ``name`` (file stem), its ``path`` and one-line ``description``."""

    name: str
    path: Path
    description: str


def builtin_config_dir() -> Path:
    """The directory holding the shipped YAML configs (``<package>/configs``)."""
    return Path(__file__).resolve().parent / "configs"


def describe(path: Union[str, os.PathLike], max_chars: int = 100) -> str:
    """One line about a YAML file: the first sentence of its leading ``#`` comment block.

    The sentence may span several comment lines; it is cut at ``max_chars`` ("" when
    the file does not start with a comment).
    """
    words: List[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if not s and not words:
                continue
            if not s.startswith("#"):
                break
            words += s.lstrip("#").split()
            text = " ".join(words)
            if re.search(r"[.!?](\s|$)", text):
                break
    text = " ".join(words)
    m = re.search(r"[.!?](\s|$)", text)
    if m:
        text = text[: m.start() + 1]
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "\u2026"


def list_configs() -> List[BuiltinConfig]:
    """The built-in configs, sorted by name."""
    root = builtin_config_dir()
    if not root.is_dir():
        return []
    files = sorted(p for p in root.iterdir() if p.suffix in SUFFIXES and p.is_file())
    return [BuiltinConfig(p.stem, p, describe(p)) for p in files]


def config_names() -> List[str]:
    """Names of the built-in configs (what ``resolve_config`` accepts besides paths)."""
    return [c.name for c in list_configs()]


def resolve_config(name_or_path: Union[str, os.PathLike]) -> Path:
    """The YAML file meant by ``name_or_path``: an existing file, else a built-in config's path.

    Built-in names are matched with or without ``.yaml``/``.yml`` and also through a
    ``configs/`` prefix (``configs/vln_r2r.yaml`` still works outside the checkout).

    Raises:
        ConfigError: nothing matches (the message lists the built-in names), or the
            path is a directory.
    """
    if name_or_path is None or str(name_or_path).strip() == "":
        raise ConfigError(f"config {name_or_path!r}; expected a YAML path or one of the built-in configs {config_names()}")
    p = Path(os.path.expanduser(str(name_or_path)))
    if p.is_file():
        return p
    if p.is_dir():
        raise ConfigError(f"config {str(p)!r} is a directory; expected a YAML file or a built-in config name")
    # A bare name, or configs/<name>.yaml typed from outside the checkout.
    builtin = {c.name: c.path for c in list_configs()}
    looks_builtin = len(p.parts) == 1 or (len(p.parts) == 2 and p.parts[0] == "configs")
    if looks_builtin:
        stem = p.stem if p.suffix in SUFFIXES else p.name
        if stem in builtin:
            return builtin[stem]
    raise ConfigError(f"config {str(name_or_path)!r} is neither an existing file nor a built-in config; "
                      f"expected a YAML path or one of {sorted(builtin)} (`vlnsim configs` lists them)")
