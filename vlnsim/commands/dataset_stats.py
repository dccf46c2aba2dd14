"""``vlnsim dataset-stats PATH``: statistics of a VLN-CE dataset directory."""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("dataset-stats", help="print statistics of an episode dataset", description=__doc__)
    p.add_argument("path", help="dataset version directory, e.g. data/datasets/procgen_r2r/v1")
    p.add_argument("--data-root", default="data", help="data root (unused when PATH exists; default data/)")
    p.add_argument("--json", dest="json_out", default=None, metavar="FILE",
                   help="also write the statistics as JSON to FILE ('-' for stdout only)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..episodes.stats import dataset_stats, format_stats
    from ..io_utils import atomic_write_text, check_output_file

    if args.json_out and args.json_out != "-":
        check_output_file(args.json_out, "--json")
    path = Path(args.path)
    if not path.exists() and not path.is_absolute():
        # allow a bare dataset name or a path relative to the data root
        for cand in (Path(args.data_root) / path, Path(args.data_root) / "datasets" / path / "v1"):
            if cand.is_dir():
                path = cand
                break
    try:
        stats = dataset_stats(path)
    except FileNotFoundError as exc:
        print(f"vlnsim dataset-stats: error: {exc}", file=sys.stderr)
        return 2
    if args.json_out == "-":
        print(json.dumps(stats, indent=2))
        return 0
    print(format_stats(stats))
    if args.json_out:
        atomic_write_text(args.json_out, json.dumps(stats, indent=2))
        print(f"wrote {args.json_out}")
    return 0
