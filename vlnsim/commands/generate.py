"""``vlnsim generate``: build a procedural VLN-CE dataset (houses, episodes, instructions)."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("generate", help="generate procedural houses and a VLN-CE episode dataset",
                              description=__doc__)
    p.add_argument("--name", default="procgen_r2r", help="dataset name (data/datasets/<name>/v1)")
    p.add_argument("--houses", type=int, default=30, help="number of houses (default 30)")
    p.add_argument("--episodes-per-house", type=int, default=50, help="episodes per house (default 50)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--data-root", default="data", help="data root (default data/)")
    p.add_argument("--version", default="v1", help="dataset version directory (default v1)")
    p.add_argument("--min-distance", type=float, default=4.0, help="min geodesic start-goal distance, m (default 4)")
    p.add_argument("--max-distance", type=float, default=20.0, help="max geodesic start-goal distance, m (default 20)")
    p.add_argument("--rooms", type=int, default=None, help="rooms per house (default: drawn per house, 4..8)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1; output does not depend on it)")
    p.add_argument("--exact-expert", action="store_true",
                   help="re-plan the expert's path every step for the _gt actions (slow; default follows the reference path)")
    p.add_argument("--instruction-style", choices=("r2r", "verbose"), default="r2r",
                   help="r2r: R2R-like lengths, about 29 words (default); verbose: every clause, about 54 words")
    p.add_argument("--extra-train-houses", type=int, default=0, metavar="N",
                   help="N more houses in the train split only; val/test episodes stay those of --houses (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--setting", choices=("continuous", "discrete"), default="continuous",
                   help="continuous VLN-CE episodes (default) or discrete R2R: navigation graphs in "
                        "data/connectivity/ and data/datasets/<name>/R2R_<split>.json")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..episodes.generate import check_path_component

    check_path_component("--name", args.name)  # both settings: nothing is written outside the data root
    check_path_component("--version", args.version)
    if getattr(args, "setting", "continuous") == "discrete":
        from ..discrete.command import generate_main
        return generate_main(args)
    from ..episodes.generate import generate_dataset

    stats = generate_dataset(args.data_root, args.name, num_houses=args.houses,
                             episodes_per_house=args.episodes_per_house, seed=args.seed, workers=args.workers,
                             version=args.version, progress=not args.quiet, min_distance=args.min_distance,
                             max_distance=args.max_distance, num_rooms=args.rooms,
                             exact_expert=args.exact_expert, instruction_style=args.instruction_style,
                             extra_train_houses=args.extra_train_houses)
    print(f"wrote {stats['episodes']} episodes over {stats['houses']} houses to {stats['data_dir']} "
          f"in {stats['seconds']:.1f} s (vocabulary {stats['vocab_size']} words)")
    for split, s in stats["splits"].items():
        print(f"  {split:<11} {s['episodes']:>6} episodes  {s['houses']:>3} houses  "
              f"mean geodesic {s['mean_geodesic_distance']:.2f} m  cross-room {s['cross_room_share']:.0%}")
    return 0
