"""Discrete-setting figures: graph statistics vs Matterport's, env steps/s, val_unseen SR/SPL.

    python bench/discrete.py --data-root data/discrete --dataset procgen_r2r_discrete \
        --features data/discrete/r2r_features.h5 --run-dir runs/r2r_seq2seq

Prints (1) viewpoints per house, mean degree and mean edge length over every
connectivity file, beside the R2R / Matterport3D figures (~117 viewpoints per building,
mean edge ~2.25 m, mean degree ~4); (2) ``vlnsim/R2R-v0`` steps/s with precomputed
features and with rendered panoramas (36 views at 64x64, no cache); (3) val_unseen
SR/SPL/NE/nDTW/TL of the random and expert baselines (SR as R2R scores it: the final
viewpoint, STOP called or not; also SR counting only episodes ended by STOP, VLN-CE's rule) and, when ``--run-dir`` holds one, the
trained Seq2Seq agent.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def graph_table(root: str) -> None:
    from vlnsim.discrete.connectivity import load_connectivity

    stats = [load_connectivity(p).stats() for p in sorted((Path(root) / "connectivity").glob("*_connectivity.json"))]
    print(f"graphs ({len(stats)} houses)          vlnsim   Matterport/R2R")
    print(f"  viewpoints per house        {np.mean([s['viewpoints'] for s in stats]):7.1f}   ~117")
    print(f"  mean degree                 {np.mean([s['mean_degree'] for s in stats]):7.2f}   ~4")
    print(f"  mean edge length (m)        {np.mean([s['mean_edge_length'] for s in stats]):7.2f}   ~2.25")
    print(f"  components per house        {np.mean([s['components'] for s in stats]):7.2f}")


def steps_per_second(root: str, dataset: str, features: str, seconds: float = 5.0) -> None:
    import gymnasium

    import envs  # noqa: F401

    for mode, kw in (("features", dict(observation="features", features=features)),
                     ("rendered 36x64x64", dict(observation="rgb", width=64, height=64, panorama_cache=1))):
        if mode == "features" and not features:
            continue
        env = gymnasium.make("vlnsim/R2R-v0", data_root=root, dataset=dataset, split="val_unseen", **kw).unwrapped
        rng = np.random.default_rng(0)
        obs, _ = env.reset(seed=0)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            valid = np.flatnonzero(obs["candidate_mask"]) + 1
            obs, _, term, trunc, _ = env.step(int(rng.choice(valid)) if len(valid) and rng.random() > 0.1 else 0)
            n += 1
            if term or trunc:
                obs, _ = env.reset()
        print(f"env steps/s ({mode}): {n / (time.perf_counter() - t0):.1f}")
        env.close()


def agents_table(root: str, dataset: str, features: str, run_dir: str) -> None:
    from agents.discrete.checkpoint import has_checkpoint
    from agents.discrete.trainer import R2RTrainerConfig, evaluate, load_policy, make_env

    cfg = R2RTrainerConfig(data_root=root, dataset=dataset, features=features)
    env = make_env(cfg, "val_unseen", features=False)
    rows = {"random": evaluate(env, None, "random", seed=0), "expert": evaluate(env, None, "expert")}
    if run_dir and has_checkpoint(run_dir):  # the run's last checkpoint
        rows["seq2seq (IL, DAgger)"] = evaluate(make_env(cfg, "val_unseen"), load_policy(run_dir))
    print(f"val_unseen ({rows['expert']['episodes']} episodes)   SR     SPL    NE(m)  nDTW   TL(m)  SR(STOP called)")
    for name, m in rows.items():
        print(f"  {name:<22} {m['sr']:.3f}  {m['spl']:.3f}  {m['ne']:5.2f}  {m['ndtw']:.3f}  {m['tl']:5.2f}  {m['sr_stop']:.3f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", default="data/discrete")
    p.add_argument("--dataset", default="procgen_r2r_discrete")
    p.add_argument("--features", default="")
    p.add_argument("--run-dir", default="")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    graph_table(a.data_root)
    steps_per_second(a.data_root, a.dataset, a.features)
    agents_table(a.data_root, a.dataset, a.features, a.run_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
