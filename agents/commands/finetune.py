"""``vlnsim finetune``: fine-tune a retrieval, VQA or captioning head on a pretrained encoder.

``vlnsim finetune --task vqa --encoder runs/vlp_cpu/final --data data/vlp_corpus`` reads
``configs/finetune_vqa.yaml`` (or ``--config``), fine-tunes, saves ``RUN/final``
(encoder + head), then evaluates on the held-out split and writes ``RUN/eval/metrics.json``
and the predictions in the standard results format. torch is imported only when it runs.
"""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("finetune", help="fine-tune a retrieval / VQA / captioning head on a pretrained encoder",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, choices=["retrieval", "vqa", "caption"])
    p.add_argument("--encoder", required=True, help="VLPModel directory (e.g. runs/vlp_cpu/final)")
    p.add_argument("--data", required=True,
                   help="a `vlnsim make-corpus` directory, a Karpathy split file (retrieval, caption), a CLEVR "
                        "questions file or VQA v2 questions file (vqa)")
    p.add_argument("--eval-data", default=None, help="evaluation data when it is another file (e.g. CLEVR val)")
    p.add_argument("--image-root", default=None, help="image folder of Karpathy / CLEVR / VQA v2 files")
    p.add_argument("--config", default=None, help="fine-tuning YAML or built-in name (default finetune_<task>)")
    p.add_argument("--out", default=None, help="run directory (default runs/finetune_<task>)")
    p.add_argument("--random-encoder", action="store_true",
                   help="the encoder's architecture with random weights (the baseline)")
    p.add_argument("--steps", type=int, default=None, help="override the number of optimiser steps")
    p.add_argument("--max-steps", type=int, default=None, metavar="N",
                   help="stop after N optimiser steps of this call with a checkpoint (continue with --resume)")
    p.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"])
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue the run from its latest checkpoint")
    again.add_argument("--fresh", action="store_true", help="delete an earlier run in --out and start over")
    p.add_argument("--no-eval", action="store_true", help="skip the evaluation after fine-tuning")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. vqa.num_answers=500 batch_size=32")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import json
    import shutil
    from pathlib import Path

    from vlnsim.errors import ConfigError
    from vlnsim.io_utils import atomic_write_text

    from agents.heads.config import load_finetune_config
    from agents.heads.evaluate import evaluate_task
    from agents.heads.finetune import finetune, load_split
    from agents.heads.vqa import majority_baseline

    cfg = load_finetune_config(args.config or f"finetune_{args.task}", args.overrides, task=args.task,
                               encoder=args.encoder, data=args.data, eval_data=args.eval_data,
                               image_root=args.image_root, random_encoder=args.random_encoder or None,
                               steps=args.steps, device=args.device)
    out = Path(args.out or f"runs/finetune_{args.task}")
    if (out / "checkpoints").exists() and not args.resume:
        if not args.fresh:
            raise ConfigError(f"{out} already holds a fine-tuning run; pass --resume to continue it or --fresh to replace it")
        for name in ("checkpoints", "tb", "final", "eval", "train_history.json", "finetune_config.json"):
            p = out / name
            shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    resume = bool(args.resume and (out / "checkpoints").exists())
    progress = not args.no_progress
    if args.max_steps is not None and args.max_steps < 1:
        raise ConfigError(f"--max-steps {args.max_steps}; expected a positive number of optimiser steps")
    run = finetune(cfg, out, resume=resume, progress=progress, max_steps=args.max_steps)
    if run["final"] is None:
        print(f"stopped after step {run['global_step']} of {cfg.steps} (checkpoint in {out / 'checkpoints'}; "
              "continue with --resume)")
        return 0
    print(f"fine-tuned {cfg.task} for {run['global_step']} steps -> {run['final']}")
    if args.no_eval:
        return 0
    ev = load_split(cfg, cfg.eval_split, cfg.max_eval_images, cfg.eval_data or None)
    baseline = majority_baseline(run["train_data"].annotations(), "question_family") if cfg.task == "vqa" else None
    report = evaluate_task(run["model"], ev, out / "eval", frozen=cfg.freeze_towers, baseline=baseline, progress=progress)
    atomic_write_text(out / "eval" / "metrics.json", json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k not in ("per_question",)}, indent=1))
    return 0
