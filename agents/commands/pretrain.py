"""``vlnsim pretrain``: vision-language pretraining (ITC, ITM, MLM, MRC) on an image-text corpus.

Single process: ``vlnsim pretrain --config configs/vlp_cpu.yaml``. Several processes
(gloo on CPU, NCCL on GPU; ITC negatives gathered over ranks):
``torchrun --nproc_per_node 2 $(which vlnsim) pretrain --config ...``. ``--max-steps N``
stops after N more optimiser steps with a checkpoint; ``--resume`` continues the run
directory's latest checkpoint exactly. The final model is written to ``RUN_DIR/final``
(``VLPModel.save_pretrained`` layout: ``vision/`` and ``text/`` load with
``transformers.AutoModel``; the navigation ``CLIPEncoder`` loads the vision tower).
"""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("pretrain", help="vision-language pretraining (ITC, ITM, MLM, MRC) of the encoder stack",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="pretraining YAML (configs/vlp_cpu.yaml, configs/vlp_gpu.yaml)")
    p.add_argument("--max-steps", type=int, default=None, metavar="N", help="stop after N more optimiser steps (checkpointed)")
    p.add_argument("--resume", action="store_true", help="continue from the run directory's latest checkpoint")
    p.add_argument("--teacher", default=None, metavar="DIR",
                   help="distil ITC from this pretrained VLP directory (sets loss.distill=teacher)")
    p.add_argument("--device", default=None, choices=["cpu", "cuda", "auto"], help="override the config's device")
    p.add_argument("--run-dir", default=None, help="override run_dir")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. optim.max_steps=100 loss.mlm=0")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from vlnsim.errors import ConfigError

    from agents.vlp.pretrain_config import load_pretrain_config

    if args.max_steps is not None and args.max_steps < 1:
        raise ConfigError(f"--max-steps {args.max_steps}; expected a positive number of optimiser steps")
    overrides = list(args.overrides)
    if args.run_dir:
        overrides.append(f"run_dir={args.run_dir}")
    if args.teacher:
        overrides += ["loss.distill=teacher", f"loss.teacher={args.teacher}"]
    cfg = load_pretrain_config(args.config, overrides)
    import torch

    from agents.trainers.distributed import init_distributed, shutdown_distributed
    from agents.vlp.trainer import Pretrainer

    torch.set_num_threads(max(1, torch.get_num_threads()))
    device = args.device or cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    info = init_distributed(device)
    try:
        trainer = Pretrainer(cfg, device=device if device != "cuda" else f"cuda:{info.local_rank}", dist_info=info,
                             progress=not args.no_progress)
        try:
            result = trainer.train(resume=args.resume, max_steps=args.max_steps)
        finally:
            trainer.close()
    finally:
        shutdown_distributed()
    if info.is_main:
        last = next((h for h in reversed(result["history"]) if "r1_t2i" in h), {})
        extra = f"  held-out R@1 t2i={last['r1_t2i']:.3f} i2t={last['r1_i2t']:.3f}" if last else ""
        print(f"steps: {result['global_step']}  checkpoint: {result['checkpoint']}  model: {cfg.run_dir}/final  "
              f"tensorboard: {cfg.run_dir}/tb{extra}")
    return 0
