"""``vlnsim extract-features``: (36, D) panorama features per viewpoint into HDF5 (``<scan>_<viewpoint>``)."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("extract-features", help="encode every viewpoint's 36-view panorama into an HDF5 feature file",
                       description=__doc__)
    p.add_argument("--encoder", required=True, help="encoder directory (a Hugging Face CLIP save_pretrained output)")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--data-root", default="data", help="data root with connectivity/ and scene_datasets/ (default data/)")
    p.add_argument("--dataset", default=None, help="only the scans of data/datasets/<name>/R2R_*.json")
    p.add_argument("--scans", nargs="*", default=None, help="only these scans")
    p.add_argument("--size", type=int, default=None, help="view resolution in pixels (default: the encoder's image size)")
    p.add_argument("--hfov", type=float, default=60.0, help="view field of view, degrees (Matterport: 60)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import torch

    from agents.discrete.features import extract_features

    torch.set_num_threads(1)
    s = extract_features(args.encoder, args.out, data_root=args.data_root, dataset=args.dataset, scans=args.scans,
                         size=args.size, hfov=args.hfov, progress=not args.quiet)
    print(f"wrote {s['viewpoints']} viewpoints x (36, {s['dim']}) from {s['scans']} scans to {args.out} "
          f"in {s['seconds']:.1f} s")
    return 0
