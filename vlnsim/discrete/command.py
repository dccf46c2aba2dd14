"""``vlnsim generate --setting discrete``: the discrete half of the generate command.

``--episodes-per-house`` counts instructions, as in the continuous setting: a house gets
``ceil(episodes / 3)`` R2R paths with three instructions each. ``--version`` and
``--exact-expert`` do not apply (R2R files have no version directory or expert actions).
"""
from __future__ import annotations

import argparse
import math


def generate_main(args: argparse.Namespace) -> int:
    from .generate import generate_discrete_dataset

    stats = generate_discrete_dataset(args.data_root, args.name, num_houses=args.houses,
                                      paths_per_house=max(1, math.ceil(args.episodes_per_house / 3)), seed=args.seed,
                                      workers=args.workers, progress=not args.quiet, num_rooms=args.rooms,
                                      min_distance=args.min_distance, max_distance=args.max_distance)
    g = stats["graphs"]
    print(f"wrote {stats['paths']} R2R paths over {stats['houses']} houses to {stats['data_dir']} "
          f"and {stats['houses']} graphs to {args.data_root}/connectivity in {stats['seconds']:.1f} s "
          f"(vocabulary {stats['vocab_size']} words)")
    print(f"  graphs: {g['viewpoints']:.1f} viewpoints/house, mean degree {g['mean_degree']:.2f}, "
          f"mean edge {g['mean_edge_length']:.2f} m")
    for split, s in stats["splits"].items():
        print(f"  {split:<11} {s['paths']:>5} paths  {s['instructions']:>6} instructions  {s['houses']:>3} houses  "
              f"mean distance {s['mean_distance']:.2f} m  mean edges {s['mean_edges']:.1f}")
    return 0
