"""Gymnasium env throughput vs the bare Simulator (issue #6 figures).

For each resolution (RGB-D, 64x64 and 128x128 by default) on the same episode and the
same seeded action sequence (VLN-CE's random-agent mix without STOP, so no episode
ends inside a timed block):

* ``sim``: bare ``vlnsim.Simulator.step`` steps/s;
* ``env x1``: ``VLNEnv.step`` (reward, geodesic progress, observation dict) steps/s;
* ``async x2``: ``envs.make_vec_env(..., num_envs=2)`` total steps/s;

with each rate's ratio to the bare simulator. Without ``--data-root`` a small
procedural dataset is generated into a temporary folder first.

    python bench/env.py [--data-root data --dataset procgen_r2r --split train]
                        [--steps 300] [--sizes 64 128] [--workers 2]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a source checkout
    sys.path.insert(0, str(ROOT))


def _actions(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice([1, 2, 3], size=n, p=[0.68 / 0.98, 0.15 / 0.98, 0.15 / 0.98])


def bench_sim(env, actions: np.ndarray, repeats: int) -> float:
    """Bare Simulator.step rate: the env's own simulator (same scene, sensors, agent), driven directly."""
    ep = env.unwrapped.current_episode
    sim = env.unwrapped.sim
    best = 0.0
    for _ in range(repeats):
        sim.reset(position=ep.start_position, rotation=ep.start_rotation)
        t0 = time.perf_counter()
        for a in actions:
            sim.step(int(a))
        best = max(best, len(actions) / (time.perf_counter() - t0))
    return best


def bench_env(env, actions: np.ndarray, repeats: int) -> float:
    base = env.unwrapped
    ep_id = base.current_episode.episode_id
    best = 0.0
    for _ in range(repeats):
        env.reset(options={"episode_id": ep_id})
        t0 = time.perf_counter()
        for a in actions:
            env.step(int(a))
        best = max(best, len(actions) / (time.perf_counter() - t0))
    return best


def bench_vec(cfg, workers: int, actions: np.ndarray, repeats: int) -> float:
    import envs

    vec = envs.make_vec_env(cfg, num_envs=workers, asynchronous=True)
    try:
        vec.reset(seed=0)
        for a in actions[:10]:  # warm-up: scene load and navigability in each worker
            vec.step(np.full(workers, int(a)))
        best = 0.0
        for _ in range(repeats):
            vec.reset(seed=0)
            t0 = time.perf_counter()
            for a in actions:
                vec.step(np.full(workers, int(a)))
            best = max(best, workers * len(actions) / (time.perf_counter() - t0))
        return best
    finally:
        vec.close()


def ensure_dataset(args, tmp: Optional[str]) -> str:
    if args.data_root is not None:
        return args.data_root
    from vlnsim.episodes.generate import generate_dataset

    print(f"generating a one-house dataset in {tmp} (pass --data-root to reuse one)", flush=True)
    generate_dataset(tmp, name=args.dataset, num_houses=1, episodes_per_house=6, seed=0, progress=False)
    return tmp


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="bench/env.py", description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default=None)
    p.add_argument("--dataset", default="procgen_r2r")
    p.add_argument("--split", default="train")
    p.add_argument("--steps", type=int, default=300, help="steps per timed block (< max_episode_steps)")
    p.add_argument("--repeats", type=int, default=5, help="timed blocks per figure (best is reported)")
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    if not 0 < args.steps < 500:
        p.error("--steps must be in 1..499 so no episode is truncated inside a timed block")

    with tempfile.TemporaryDirectory(prefix="vlnsim_bench_env_") as tmp:
        return run(args, ensure_dataset(args, tmp))


def run(args, data_root: str) -> int:
    import envs

    actions = _actions(args.steps)
    rows = []
    for size in args.sizes:
        cfg = envs.load_config(dict(data_root=data_root, dataset=args.dataset, split=args.split, width=size,
                                    height=size, rgb=True, depth=True, max_episode_steps=args.steps + 50))
        env = envs.make_env(cfg)
        env.reset(seed=0)
        for a in actions[:10]:  # warm-up
            env.step(int(a))
        sim_rate = env_rate = 0.0
        for _ in range(args.repeats):  # interleaved so load from other processes hits both alike
            sim_rate = max(sim_rate, bench_sim(env, actions, 1))
            env_rate = max(env_rate, bench_env(env, actions, 1))
        env.close()
        vec_rate = bench_vec(cfg, args.workers, actions, args.repeats)
        rows.append((size, sim_rate, env_rate, vec_rate))

    import os

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nEnv throughput, RGB-D, {args.steps} steps x best of {args.repeats} (same episode, same actions); "
          f"{os.cpu_count()} CPUs, load average {load:.1f}")
    print(f"{'res':>8} {'sim steps/s':>12} {'env x1':>10} {'ratio':>6} {f'async x{args.workers}':>10} {'ratio':>6}")
    for size, s, e, v in rows:
        print(f"{size:>4}x{size:<3} {s:>12.0f} {e:>10.0f} {e / s:>6.2f} {v:>10.0f} {v / s:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
