"""The ``nav`` task of ``eval-encoder``: the standard CMA agent on top of the frozen encoder.

Trains the CMA policy of a navigation config (default ``il_cma_demo_cpu``: teacher forcing
+ DAgger on the procedural R2R data) with ``policy.vision.clip`` set to the encoder
directory, so its RGB features come from the encoder's (frozen) vision tower, for the
config's fixed budget; then runs ``vlnsim eval`` on ``val_unseen`` and reports SR, SPL
and nDTW. Both steps go through the ``vlnsim train`` / ``vlnsim eval`` commands, so the
numbers are the ones those commands print. The random-encoder baseline is written to
``RUN/random_encoder`` first (same architecture, random weights).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional

from vlnsim.errors import ConfigError


def evaluate_nav(encoder: str, run_dir, random_encoder: bool = False, config: str = "il_cma_demo_cpu",
                 iterations: Optional[int] = None, episodes: Optional[int] = None, split: str = "val_unseen",
                 data_root: Optional[str] = None, overrides=(), progress: bool = True) -> Dict:
    """Train + evaluate the CMA agent on ``encoder``; returns ``{"sr", "spl", "ndtw", ...}``."""
    from vlnsim.cli import main as vlnsim_main

    from agents.config import load_experiment_config

    run_dir = Path(run_dir)
    cfg = load_experiment_config(config, list(overrides))
    data_root = data_root or cfg.env["data_root"]
    root = Path(data_root) / "datasets" / cfg.env["dataset"]
    if not any(root.glob(f"*/{split}/{split}.json.gz")):
        raise ConfigError(f"nav: no {split} split under {root}; generate the dataset first, e.g. "
                          f"`vlnsim generate --name {cfg.env['dataset']} --houses 30`")
    enc_dir = Path(encoder)
    if random_encoder:
        from agents.vlp import VLPModel

        enc_dir = run_dir / "random_encoder"
        VLPModel.random_like(encoder).save_pretrained(enc_dir)
    train_dir = run_dir / "train"
    args = ["train", "--config", config, "--run-dir", str(train_dir), "--data-root", str(data_root), "--fresh",
            *overrides, f"policy.vision.clip={enc_dir}"]
    if iterations is not None:
        args.append(f"trainer.iterations={int(iterations)}")
    if not progress:
        args.insert(3, "--no-progress")  # options before the key=value overrides
    if vlnsim_main(args) != 0:
        raise RuntimeError(f"nav: `vlnsim {' '.join(args)}` failed")
    eval_args = ["eval", "--ckpt", str(train_dir), "--split", split, "--out", str(run_dir / "eval"),
                 "--data-root", str(data_root)]
    if episodes is not None:
        eval_args += ["--episodes", str(int(episodes))]
    if not progress:
        eval_args.append("--no-progress")
    if vlnsim_main(eval_args) != 0:
        raise RuntimeError(f"nav: `vlnsim {' '.join(eval_args)}` failed")
    summary = json.loads((run_dir / "eval" / "metrics.json").read_text())
    out = {k: summary[k] for k in ("sr", "spl", "ndtw", "ne", "osr", "tl", "sdtw", "cls", "episodes") if k in summary}
    out.update(split=split, config=config, encoder=str(enc_dir))
    return out
