"""``vlnsim train``: train an agent from a YAML config with the trainer it names.

``trainer.type`` picks the trainer from ``agents.trainers.registry.TRAINERS`` (``dagger``:
teacher forcing + DAgger, the default). Single process:
``vlnsim train --config configs/il_cma_demo_cpu.yaml``. Several processes (DDP; gloo on
CPU, NCCL on GPU), each rank on its own episodes:
``torchrun --nproc_per_node 2 $(which vlnsim) train --config ...``.
``--max-steps N`` stops after N optimiser steps with a checkpoint (a smoke test of any
config). A run directory that already holds a run is refused unless ``--resume``
(continue it) or ``--fresh`` (delete its outputs and start over). torch is imported only
when the command runs.
"""
from __future__ import annotations

import argparse

from vlnsim.registry import LazyChoices


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a navigation agent (trainer.type: dagger imitation learning, ...)",
        description="Train an agent with the trainer named by trainer.type (default dagger: teacher forcing + "
                    "DAgger). Overrides are dotted key=value pairs, e.g. trainer.iterations=2 policy.type=seq2seq "
                    "env.width=64.",
    )
    p.add_argument("--config", required=True,
                   help="experiment YAML (configs/il_*.yaml) or the name of a built-in config")
    p.add_argument("--device", default=None, choices=["cpu", "cuda", "auto"], help="override the config's device")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the run directory's run from its latest checkpoint (starts fresh if it has none)")
    again.add_argument("--fresh", action="store_true",
                       help="delete the outputs of an earlier run in the run directory and start over")
    p.add_argument("--max-steps", type=int, default=None, metavar="N",
                   help="stop after N optimiser steps, save a checkpoint and exit 0 (smoke test)")
    p.add_argument("--run-dir", default=None, help="override the config's run_dir")
    p.add_argument("--data-root", default=None, help="override env.data_root (default: the config's, usually data/)")
    p.add_argument("--trainer", default=None, choices=LazyChoices("agents.trainers.registry:TRAINERS"), metavar="TYPE",
                   help="override trainer.type (%(choices)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--set", dest="set_overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="a dotted override (repeatable); same as a positional KEY=VALUE, usable anywhere on the line")
    p.add_argument("overrides", nargs="*", help="dotted key=value overrides (keep them together, after the options)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vlnsim.errors import ConfigError, VlnsimError

    from agents.config import load_experiment_config
    from agents.run_dir import check_data, prepare_run_dir, remove_unfinished_run

    if args.max_steps is not None and args.max_steps < 1:
        raise ConfigError(f"--max-steps {args.max_steps}; expected a positive number of optimiser steps")
    overrides = list(args.overrides) + list(args.set_overrides)
    if args.run_dir:
        overrides.append(f"run_dir={args.run_dir}")
    if args.data_root:
        overrides.append(f"env.data_root={args.data_root}")
    if args.trainer:
        overrides.append(f"trainer.type={args.trainer}")
    cfg = load_experiment_config(args.config, overrides)
    check_data(cfg)  # before anything is written: no empty run directory on a bad --data-root
    import torch

    from agents.trainers.distributed import barrier, init_distributed, shutdown_distributed
    from agents.trainers.registry import TRAINERS

    device = args.device or cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    info = init_distributed(device)
    created = not Path(cfg.run_dir).exists()
    try:
        # Every rank checks (so all refuse together); only rank 0 deletes for --fresh, then all wait.
        prepare_run_dir(cfg, resume=args.resume, fresh=args.fresh, is_main=info.is_main)
        barrier(info)
        trainer_cls = TRAINERS.get(cfg.trainer.type)
        trainer = trainer_cls(cfg, device=device, dist_info=info, progress=not args.no_progress)
        try:
            result = trainer.train(resume=args.resume, max_steps=args.max_steps)
        finally:
            trainer.close()
    except VlnsimError:
        if info.is_main and created:
            remove_unfinished_run(Path(cfg.run_dir))  # a bad input leaves no half-made run directory
        raise
    finally:
        shutdown_distributed()
    if info.is_main:
        last = result["history"][-1] if result["history"] else {}
        print(f"checkpoints: {result['checkpoint']}  tensorboard: {cfg.run_dir}/tb  steps: {result['global_step']}")
        if isinstance(last, dict) and "eval" in last:
            m = last["eval"]
            print(f"final {cfg.eval.split}: sr={m['sr']:.3f} spl={m['spl']:.3f} ndtw={m['ndtw']:.3f} ({m['episodes']} episodes)")
    return 0
