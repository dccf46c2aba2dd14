"""``vlnsim eval-encoder``: score an encoder on retrieval, VQA, captioning and navigation.

Each task gets the same fine-tuning budget (``configs/finetune_<task>.yaml``; overrides
apply to every task), then is evaluated on held-out houses. Writes ``OUT/metrics.json``,
``OUT/metrics.md`` (one table) and the predictions in the standard results formats
(``captions_results.json``, ``vqa_results.json``, ``retrieval_rankings.json``).
``--random-encoder`` scores the same architecture with random weights, the baseline.
``--table A B ...`` only prints one Markdown table of earlier ``metrics.json`` outputs.
"""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("eval-encoder", help="score an encoder on retrieval, VQA, captioning and navigation",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoder", help="VLPModel directory (e.g. runs/vlp_cpu/final)")
    p.add_argument("--tasks", default="retrieval,vqa,caption", help="comma-separated: retrieval,vqa,caption,nav")
    p.add_argument("--out", help="output directory")
    p.add_argument("--data", default="data/vlp_corpus", help="corpus directory or real-format file (default %(default)s)")
    p.add_argument("--random-encoder", action="store_true", help="random weights of the encoder's architecture")
    p.add_argument("--steps", type=int, default=None, help="fine-tuning steps of every task (default: each config's)")
    p.add_argument("--nav-config", default="il_cma_demo_cpu", help="navigation config for task nav (default %(default)s)")
    p.add_argument("--nav-iterations", type=int, default=None, help="DAgger iterations of the nav budget")
    p.add_argument("--nav-episodes", type=int, default=None, help="val_unseen episodes scored (default all)")
    p.add_argument("--nav-data-root", default=None, help="data root of the nav dataset (default: the nav config's)")
    p.add_argument("--nav-set", action="append", default=[], metavar="KEY=VALUE",
                   help="override of the nav config (repeatable), e.g. --nav-set trainer.episodes_per_iteration=50")
    p.add_argument("--fresh", action="store_true", help="replace earlier runs in --out")
    p.add_argument("--table", nargs="+", metavar="METRICS_JSON", help="print one table of these metrics.json files and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("overrides", nargs="*", help="dotted key=value overrides for every task config")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from vlnsim.errors import ConfigError

    from agents.heads.encoder_eval import evaluate_encoder, markdown_table, parse_tasks

    if args.table:
        columns = {}
        for path in args.table:
            p = Path(path)
            p = p / "metrics.json" if p.is_dir() else p
            try:
                columns[p.parent.name] = json.loads(p.read_text())
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{p}: cannot read a metrics.json ({exc})") from None
        print(markdown_table(columns), end="")
        return 0
    if not args.encoder or not args.out:
        raise ConfigError("--encoder and --out are required (or --table FILES)")
    tasks = parse_tasks(args.tasks)
    overrides = list(args.overrides) + ([f"steps={args.steps}"] if args.steps else [])
    nav = {"config": args.nav_config, "iterations": args.nav_iterations, "episodes": args.nav_episodes,
           "data_root": args.nav_data_root, "overrides": list(args.nav_set)}
    result = evaluate_encoder(args.encoder, tasks, args.out, data=args.data, random_encoder=args.random_encoder,
                              overrides=overrides, fresh=args.fresh, progress=not args.no_progress, nav=nav)
    print((Path(args.out) / "metrics.md").read_text(), end="")
    return 0 if result["tasks"] else 1
