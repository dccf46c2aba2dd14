"""``vlnsim train``: imitation learning (teacher forcing + DAgger) from a YAML config.

Single process: ``vlnsim train --config configs/il_cma_demo_cpu.yaml``. Several
processes (DDP; gloo on CPU, NCCL on GPU), each rank on its own episodes:
``torchrun --nproc_per_node 2 $(which vlnsim) train --config ...``. torch is imported
only when the command runs.
"""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a navigation agent by imitation learning (teacher forcing + DAgger)",
        description="Train a CMA/Seq2Seq agent with teacher forcing and DAgger. Overrides are dotted "
                    "key=value pairs, e.g. trainer.iterations=2 policy.type=seq2seq env.width=64.",
    )
    p.add_argument("--config", required=True, help="experiment YAML (configs/il_*.yaml)")
    p.add_argument("--device", default=None, choices=["cpu", "cuda", "auto"], help="override the config's device")
    p.add_argument("--resume", action="store_true", help="continue from the run directory's latest checkpoint")
    p.add_argument("--run-dir", default=None, help="override the config's run_dir")
    p.add_argument("--data-root", default=None, help="override env.data_root (default: the config's, usually data/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--set", dest="set_overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="a dotted override (repeatable); same as a positional KEY=VALUE, usable anywhere on the line")
    p.add_argument("overrides", nargs="*", help="dotted key=value overrides (keep them together, after the options)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from agents.config import load_experiment_config
    from agents.trainers.distributed import init_distributed, shutdown_distributed
    from agents.trainers.il import ILTrainer

    overrides = list(args.overrides) + list(args.set_overrides)
    if args.run_dir:
        overrides.append(f"run_dir={args.run_dir}")
    if args.data_root:
        overrides.append(f"env.data_root={args.data_root}")
    cfg = load_experiment_config(args.config, overrides)
    device = args.device or cfg.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    info = init_distributed(device)
    try:
        trainer = ILTrainer(cfg, device=device, dist_info=info, progress=not args.no_progress)
        try:
            result = trainer.train(resume=args.resume)
        finally:
            trainer.close()
    finally:
        shutdown_distributed()
    if info.is_main:
        last = result["history"][-1] if result["history"] else {}
        print(f"checkpoints: {result['checkpoint']}  tensorboard: {cfg.run_dir}/tb  steps: {result['global_step']}")
        if "eval" in last:
            m = last["eval"]
            print(f"final {cfg.eval.split}: sr={m['sr']:.3f} spl={m['spl']:.3f} ndtw={m['ndtw']:.3f} ({m['episodes']} episodes)")
    return 0
