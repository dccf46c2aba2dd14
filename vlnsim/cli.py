"""The ``vlnsim`` command line.

Sub-commands are plugins: every installed package lists its commands in the
``vlnsim.commands`` entry-point group (``pyproject.toml``)::

    [project.entry-points."vlnsim.commands"]
    generate = "vlnsim.commands.generate:register"
    train = "agents.commands.train:register"

``register(subparsers)`` adds one sub-parser and ``set_defaults(func=main)``;
``main(args) -> int`` runs it. This module imports nothing from ``envs`` or ``agents``
(the layering is one-way: they plug into ``vlnsim``, see docs/ARCHITECTURE.md); the
command modules import torch and the heavy layers only inside ``main``. Only the chosen
command's module is imported, except for ``vlnsim --help``, which lists them all.
"""
from __future__ import annotations

import argparse
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Dict, List, Optional

from .errors import VlnsimError

GROUP = "vlnsim.commands"


def command_entry_points() -> Dict[str, EntryPoint]:
    """The registered commands, name -> entry point (sorted by name)."""
    eps = {ep.name: ep for ep in entry_points(group=GROUP)}
    return dict(sorted(eps.items()))


def _load(ep: EntryPoint):
    try:
        return ep.load()
    except (ImportError, AttributeError) as exc:
        raise VlnsimError(f"command {ep.name!r} (entry point {ep.value!r} in group {GROUP!r}) cannot be loaded: {exc}; "
                          "expected an installed module with register(subparsers) (reinstall: pip install -e .)") from None


def build_parser(only: Optional[str] = None) -> argparse.ArgumentParser:
    """The full parser; with ``only`` set, just that command's sub-parser is built."""
    parser = argparse.ArgumentParser(prog="vlnsim", description="Vision-and-language navigation simulator and agents.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    eps = command_entry_points()
    if not eps:
        raise VlnsimError(f"no commands are registered in the entry-point group {GROUP!r}; "
                          "expected an installed vlnsim (pip install -e .)")
    for name, ep in eps.items():
        if only is None or name == only:
            _load(ep)(sub)
    return parser


def _command_of(argv: List[str]) -> Optional[str]:
    """The sub-command named on the line (the first non-option word), if it is registered."""
    for a in argv:
        if not a.startswith("-"):
            return a if a in command_entry_points() else None
        return None  # a leading option (--help): build everything
    return None


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(_command_of(argv))
    except VlnsimError as exc:
        print(f"vlnsim: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except VlnsimError as exc:
        print(f"vlnsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vlnsim {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
