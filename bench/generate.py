"""Benchmark: time the default demo dataset generation and show what it produced.

    python bench/generate.py [--houses 30] [--episodes-per-house 50] [--workers 1] [--data-root DIR]

Prints wall time, per-split statistics (``vlnsim dataset-stats``) and 5 example
instructions. Writes into a temporary data root unless ``--data-root`` is given.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--houses", type=int, default=30)
    ap.add_argument("--episodes-per-house", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--data-root", default=None, help="default: a temporary directory, removed afterwards")
    ap.add_argument("--examples", type=int, default=5)
    args = ap.parse_args(argv)

    import numpy as np

    from vlnsim.episodes import load_split
    from vlnsim.episodes.generate import generate_dataset
    from vlnsim.episodes.stats import dataset_stats, format_stats

    tmp = None
    root = args.data_root
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="vlnsim_bench_")
        root = tmp.name
    try:
        t0 = time.perf_counter()
        stats = generate_dataset(root, "procgen_r2r", num_houses=args.houses, episodes_per_house=args.episodes_per_house,
                                 seed=args.seed, workers=args.workers, progress=False)
        wall = time.perf_counter() - t0
        print(f"generate: {args.houses} houses, {stats['episodes']} episodes, workers={args.workers}: {wall:.1f} s "
              f"({wall / args.houses:.2f} s/house, {stats['episodes'] / wall:.1f} episodes/s), "
              f"expert failures re-drawn: {stats['expert_failures']}")
        print()
        print(format_stats(dataset_stats(stats["data_dir"])))
        train = load_split(root, "procgen_r2r", "train")
        rng = np.random.default_rng(0)
        picks = rng.choice(len(train), size=min(args.examples, len(train)), replace=False)
        print("\nexample instructions (train):")
        for i in sorted(picks):
            e = train.episodes[int(i)]
            print(f"  [{e.episode_id}] {e.geodesic_distance:.1f} m, {e.scene_id}: {e.instruction.instruction_text}")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
