"""Training/eval throughput of the IL stack; prints figures (nothing is asserted).

Measures, on the configured dataset (default: the CPU demo config):
* collection (teacher forcing, beta = 1) agent steps/s: env renders RGB-D + CLIP per step
  (no cache); with the feature cache cold (first pass: render + encode on every miss);
  with the cache warm (second pass over the same episodes: no rendering, no encoding);
* update throughput: agent steps/s through the teacher-forced forward + backward + AdamW;
* evaluation (deterministic policy, batch 1) agent steps/s;
* peak resident memory (``resource.getrusage``).

Run: ``python bench/train.py [--config configs/il_cma_demo_cpu.yaml] [--episodes 24]``.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports kB


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "il_cma_demo_cpu.yaml"))
    p.add_argument("--data-root", default=None, help="override env.data_root")
    p.add_argument("--episodes", type=int, default=24, help="episodes collected per measurement")
    p.add_argument("--num-envs", type=int, default=4)
    p.add_argument("--eval-episodes", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)

    import torch

    from agents.config import load_experiment_config
    from agents.trainers.buffer import collate
    from agents.trainers.dagger import inflection_coefficient
    from agents.trainers.il import ILTrainer

    tmp = tempfile.mkdtemp(prefix="bench_train_")
    overrides = [f"run_dir={tmp}", f"trainer.num_envs={args.num_envs}", "trainer.cache.disk_dir=null"]
    if args.data_root:
        overrides.append(f"env.data_root={args.data_root}")
    cfg = load_experiment_config(args.config, overrides)
    figures = {"config": args.config, "episodes": args.episodes, "num_envs": args.num_envs,
               "device": args.device}

    def timed_collect(trainer, ids):
        t0 = time.perf_counter()
        recs = trainer._collector().collect(ids, 1.0, seed=(0, 0, 0))
        dt = time.perf_counter() - t0
        steps = sum(len(r) for r in recs)
        return recs, steps, steps / dt

    # Without the cache: the env renders RGB-D and CLIP encodes every step.
    cfg.trainer.cache.enabled = False
    plain = ILTrainer(cfg, device=args.device, progress=False)
    ids = plain.train_ids[: args.episodes]
    timed_collect(plain, ids[: min(len(ids), args.num_envs)])  # warm up scene loading
    recs, steps, sps = timed_collect(plain, ids)
    figures["collect_steps_per_s_no_cache"] = round(sps, 1)
    figures["collected_steps"] = steps
    plain.close()

    cfg.trainer.cache.enabled = True
    cached = ILTrainer(cfg, device=args.device, progress=False)
    timed_collect(cached, ids[: min(len(ids), args.num_envs)])
    _, _, cold = timed_collect(cached, ids[args.num_envs:] if len(ids) > args.num_envs else ids)
    recs, steps, warm = timed_collect(cached, ids)
    figures["collect_steps_per_s_cache_cold"] = round(cold, 1)
    figures["collect_steps_per_s_cache_warm"] = round(warm, 1)
    figures["cache_entries"] = len(cached.cache)
    figures["cache_hit_rate"] = round(cached.cache.hit_rate, 3)

    # Update throughput over the collected episodes.
    coef = inflection_coefficient([r.labels for r in recs])
    bs = cfg.trainer.batch_size
    batches = [collate(recs[i:i + bs], cached.device, coef) for i in range(0, len(recs), bs)]
    cached.train_step(batches[0])
    t0 = time.perf_counter()
    n = 0
    for b in batches:
        cached.train_step(b)
        n += int(b["valid"].sum())
    figures["update_steps_per_s"] = round(n / (time.perf_counter() - t0), 1)

    from agents.evaluation import PolicyAgent, evaluate_episodes

    import envs

    env = envs.make_env(cached.env_config.replace(split="train", expert_action_sensor=False, progress_sensor=False))
    agent = PolicyAgent(cached.policy, cached.device)
    evaluate_episodes(env, agent, ids[:1], progress=False)
    t0 = time.perf_counter()
    ev = evaluate_episodes(env, agent, ids[: args.eval_episodes], progress=False)
    esteps = sum(len(r["actions"]) for r in ev)
    figures["eval_steps_per_s"] = round(esteps / (time.perf_counter() - t0), 1)
    env.close()
    cached.close()
    figures["torch_threads"] = torch.get_num_threads()  # ILTrainer applies the config's torch_threads
    figures["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    for k, v in figures.items():
        print(f"{k:34s} {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
