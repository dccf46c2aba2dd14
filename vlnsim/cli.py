"""The ``vlnsim`` command line.

Each sub-command lives in its own module under ``vlnsim/commands/`` exposing
``register(subparsers)`` (adds its parser and sets ``func``); modules are imported only
when their command runs or when ``--help`` lists them, so training commands (torch)
load lazily and ``vlnsim`` itself stays torch-free.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

from .errors import VlnsimError

# command name -> module under vlnsim.commands
COMMANDS = {
    "generate": "generate",
    "dataset-stats": "dataset_stats",
    "view": "view",
    "train": "train",
    "eval": "evaluate",
    "render-rollout": "render_rollout",
    "bench": "bench",
    "demo": "demo",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vlnsim", description="Vision-and-language navigation simulator and agents.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(f"vlnsim.commands.{module}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("vlnsim.commands"):
                continue  # command not built in this checkout
            raise
        mod.register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
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
