"""``vlnsim configs``: list the built-in experiment configs with their one-line description.

Any ``--config`` argument accepts these names (with or without ``.yaml``) as well as
paths; ``vlnsim configs --path NAME`` prints where a name resolves to, and
``vlnsim configs --show NAME`` prints the file.
"""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("configs", help="list the built-in configs (usable as --config NAME)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--path", metavar="NAME", default=None, help="print the file a config name or path resolves to")
    g.add_argument("--show", metavar="NAME", default=None, help="print the YAML of a config name or path")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..builtin_configs import builtin_config_dir, list_configs, resolve_config

    if args.path is not None:
        print(resolve_config(args.path))
        return 0
    if args.show is not None:
        print(resolve_config(args.show).read_text(encoding="utf-8"), end="")
        return 0
    configs = list_configs()
    if not configs:
        print(f"no built-in configs found in {builtin_config_dir()}")
        return 1
    width = max(len(c.name) for c in configs)
    for c in configs:
        print(f"{c.name:<{width}}  {c.description}")
    print(f"\n({len(configs)} configs in {builtin_config_dir()}; use --config NAME, or --show NAME to print one)")
    return 0
