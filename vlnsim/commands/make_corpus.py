"""``vlnsim make-corpus``: render an image-text corpus (COCO captions/instances, VQA v2) from procedural houses."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "make-corpus", help="render an image-text corpus (COCO captions + instances, VQA v2) from procedural houses",
        description=__doc__)
    p.add_argument("--houses", type=int, default=100, help="number of houses (default 100)")
    p.add_argument("--views-per-house", type=int, default=20, help="views rendered per house (default 20)")
    p.add_argument("--size", type=int, default=64, help="image edge in pixels (default 64)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--out", required=True, help="output directory (annotations/, images/<split>/, corpus.json)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1; output does not depend on it)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of houses in val (default 0.1)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of houses in test (default 0.2)")
    p.add_argument("--captions-per-image", type=int, default=5, help="captions per image (default 5)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from ..corpus import CorpusConfig, build_corpus

    cfg = CorpusConfig(houses=args.houses, views_per_house=args.views_per_house, size=args.size, seed=args.seed,
                       val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                       captions_per_image=args.captions_per_image)
    stats = build_corpus(args.out, cfg, workers=args.workers, progress=not args.quiet)
    print(f"wrote the corpus to {args.out} in {stats['seconds']:.1f} s")
    for split, s in stats["splits"].items():
        worst = max(s["families"].items(), key=lambda kv: kv[1]["top_share"]) if s["families"] else ("-", {"top_share": 0})
        print(f"  {split:<5} {s['houses']:>4} houses {s['images']:>6} images {s['captions']:>7} captions "
              f"{s['boxes']:>7} boxes {s['questions']:>7} questions (largest answer share {worst[1]['top_share']:.0%}, {worst[0]})")
    return 0
