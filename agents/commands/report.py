"""``vlnsim report RUN_OR_EVAL_DIRS... --out DIR``: a static HTML report of evaluations and training runs.

Give it evaluation directories (``vlnsim eval --out``), training run directories
(TensorBoard event files) and rollout video folders (``vlnsim render-rollout --out``),
or any folder holding them (``runs/demo``). The report is plain files: open
``DIR/index.html`` in a browser; no server, nothing fetched from the network.

The maps and instructions come from the evaluated dataset: an evaluation's
``metrics.json`` names its data root, dataset and split; ``--data-root`` overrides the
root, ``--dataset`` and ``--split`` fill in for files that do not record them.
"""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="write a static HTML report of evaluations and training runs",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="RUN_OR_EVAL_DIR", help="evaluation, run or video directories (searched recursively)")
    p.add_argument("--out", required=True, help="output directory (index.html is written there)")
    p.add_argument("--data-root", default=None,
                   help="data root of the evaluated datasets (default: the one each evaluation recorded, else data/)")
    p.add_argument("--dataset", default=None, help="dataset of evaluations that do not record it (e.g. procgen_r2r)")
    p.add_argument("--split", default=None, help="split of evaluations that do not record it (e.g. val_unseen)")
    p.add_argument("--title", default="vlnsim evaluation report", help="page title")
    p.add_argument("--max-episodes", type=int, default=None, help="at most this many episode pages per evaluation (default all)")
    p.add_argument("--meters-per-pixel", type=float, default=0.03, help="map resolution in m/px (default 0.03)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from vlnsim.errors import ConfigError

    from agents.report import build_report

    if args.max_episodes is not None and args.max_episodes < 0:
        raise ConfigError(f"--max-episodes {args.max_episodes}; expected 0 or more")
    index = build_report(args.paths, args.out, data_root=args.data_root, dataset=args.dataset, split=args.split,
                         title=args.title, max_episodes=args.max_episodes, meters_per_pixel=args.meters_per_pixel,
                         progress=True)
    print(f"report: {index}")
    return 0
