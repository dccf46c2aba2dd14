"""PPO PointNav figures: SR/SPL on val_unseen against env steps and wall time, and the
rollout+update throughput as a ratio to the bare vector env's steps/s in the same run.

1. Bare vector env: the training config's ``make_vec_env`` (same envs, workers, scene
   grouping, autoreset) stepped with random actions (STOP with probability 1/100, so
   episodes reset about as often as a trained agent's) for ``--bare-seconds``.
2. PPO training (``PPOTrainer``) for ``--minutes`` of training wall time (evaluation
   excluded), evaluating on ``eval.split`` every ``trainer.eval_every`` updates.
3. The bare env again (load on a shared machine drifts); the ratio uses the mean.
Writes ``<run_dir>/bench_ppo.json`` and prints the learning curve as a table.

Run: ``python bench/ppo.py --config configs/ppo_pointnav_cpu.yaml --minutes 42 [key=value ...]``.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def bare_env_steps_per_s(trainer, seconds: float, seed: int = 0) -> float:
    """Steps/s of the trainer's own vector env under random actions (no policy, no learning)."""
    import numpy as np

    vec = trainer.vec
    rng = np.random.default_rng(seed)
    vec.reset(seed=seed)
    n, N = 0, vec.num_envs
    p = np.array([0.01, 0.33, 0.33, 0.33])
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        vec.step(rng.choice(4, size=N, p=p / p.sum()))
        n += N
    return n / (time.perf_counter() - t0)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "ppo_pointnav_cpu.yaml"))
    ap.add_argument("--minutes", type=float, default=None, help="training wall-time budget (default: the config's)")
    ap.add_argument("--bare-seconds", type=float, default=30.0, help="duration of each bare-env measurement")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("overrides", nargs="*", help="dotted key=value overrides of the config")
    args = ap.parse_args(argv)

    import torch

    from agents.config import load_experiment_config
    from agents.trainers.ppo import PPOTrainer

    overrides = list(args.overrides)
    if args.minutes is not None:
        overrides.append(f"trainer.time_budget_minutes={args.minutes}")
    cfg = load_experiment_config(args.config, overrides)
    torch.set_num_threads(max(1, cfg.torch_threads))
    trainer = PPOTrainer(cfg, device=args.device, progress=True)
    try:
        trainer._open_envs()
        bare_warm = bare_env_steps_per_s(trainer, min(10.0, args.bare_seconds), seed=1)  # loads the houses
        bare_before = bare_env_steps_per_s(trainer, args.bare_seconds, seed=2)
        print(f"bare vector env: {bare_before:.0f} steps/s ({cfg.trainer.num_envs} envs; warm-up {bare_warm:.0f})", flush=True)
        t0 = time.perf_counter()
        result = trainer.train()
        wall = time.perf_counter() - t0
        bare_after = bare_env_steps_per_s(trainer, args.bare_seconds, seed=3)
    finally:
        trainer.close()
    hist = result["history"]
    last = hist[-1]
    tm = last["timing"]
    train_rate = last["env_steps"] / max(tm["env"] + tm["policy"] + tm["update"], 1e-9)
    bare = 0.5 * (bare_before + bare_after)
    curve = [{"env_steps": h["env_steps"], "train_minutes": h["train_s"] / 60.0, "sr": h["eval"]["sr"],
              "spl": h["eval"]["spl"], "ne": h["eval"]["ne"], "episodes": h["eval"]["episodes"],
              "train_success": h["train"].get("success"), "train_spl": h["train"].get("spl")}
             for h in hist if "eval" in h]
    usage = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out = {"config": str(args.config), "overrides": overrides, "curve": curve,
           "bare_env_steps_per_s": {"before": bare_before, "after": bare_after, "mean": bare},
           "train_steps_per_s": train_rate, "throughput_ratio": train_rate / bare,
           "timing_s": tm, "env_steps": last["env_steps"], "updates": last["update"], "train_minutes": last["train_s"] / 60.0,
           "wall_minutes": wall / 60.0, "cpu_minutes": sum(u.ru_utime + u.ru_stime for u in usage) / 60.0}
    path = Path(cfg.run_dir) / "bench_ppo.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"\n{'env steps':>10} {'train min':>9} {'SR':>6} {'SPL':>6} {'NE':>6} {'train SR':>8}")
    for c in curve:
        ts = c["train_success"]
        print(f"{c['env_steps']:>10} {c['train_minutes']:>9.1f} {c['sr']:>6.3f} {c['spl']:>6.3f} {c['ne']:>6.2f} "
              f"{(ts if ts is not None else float('nan')):>8.3f}")
    print(f"\nrollout+update {train_rate:.0f} steps/s vs bare vector env {bare:.0f} steps/s "
          f"(before {bare_before:.0f}, after {bare_after:.0f}): ratio {train_rate / bare:.2f}")
    print(f"time split: env {tm['env']:.0f} s, policy {tm['policy']:.0f} s, update {tm['update']:.0f} s; "
          f"training {out['train_minutes']:.1f} min, wall {out['wall_minutes']:.1f} min, CPU {out['cpu_minutes']:.1f} min")
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
