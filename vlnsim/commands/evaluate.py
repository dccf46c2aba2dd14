"""``vlnsim eval``: score a trained checkpoint or a baseline on a split.

Writes ``metrics.json`` (ne, sr, osr, spl, tl, ndtw, sdtw, cls, episodes) and
``episodes.jsonl`` (episode_id, scene_id, path, actions, metrics) into ``--out``.
Trained agents and the baselines (random, forward-only, expert) run through the same
code path (``agents.evaluation.evaluate_episodes``).
"""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a checkpoint or a baseline agent (metrics.json + episodes.jsonl)",
        description="Run an agent over a split and write metrics.json and episodes.jsonl.",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--ckpt", help="checkpoint dir, its model.safetensors, or a run dir (latest checkpoint)")
    who.add_argument("--agent", choices=["random", "forward-only", "expert"], help="a built-in baseline")
    p.add_argument("--split", default="val_unseen", help="split to evaluate (default val_unseen)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--episodes", type=int, default=None, help="evaluate this many episodes (seeded subset; default all)")
    p.add_argument("--data-root", default="data", help="data root (default data/)")
    p.add_argument("--dataset", default=None, help="dataset name (default: the checkpoint's, else procgen_r2r)")
    p.add_argument("--width", type=int, default=None, help="sensor width (default: the checkpoint's, else 64)")
    p.add_argument("--height", type=int, default=None, help="sensor height (default: the checkpoint's, else 64)")
    p.add_argument("--device", default="auto", help="torch device for --ckpt (cpu, cuda, auto)")
    p.add_argument("--ablate", choices=["none", "instruction", "vision"], default="none",
                   help="instruction: tokens replaced by padding; vision: RGB and depth blanked")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: per-step ops are tiny; 0 = torch default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the episode subset and of the random agent")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import json
    import time

    import envs
    from agents.evaluation import aggregate, evaluate_episodes, make_agent, resolve_device, select_episodes, write_results

    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    env_fields = dict(envs.EnvConfig().to_dict(), width=64, height=64)
    device = None
    if args.ckpt:
        from agents.trainers.checkpoint import load_checkpoint

        device = resolve_device(args.device)
        _, _, meta = load_checkpoint(args.ckpt)
        env_fields = dict(meta["env"])
    env_fields.update(split=args.split, data_root=args.data_root, expert_action_sensor=False, progress_sensor=False,
                      episode_ids=None, shard_index=0, num_shards=1)
    for key in ("dataset", "width", "height"):
        if getattr(args, key) is not None:
            env_fields[key] = getattr(args, key)
    env = envs.make_env(env_fields)
    try:
        agent = make_agent(args.agent, args.ckpt, env, device, seed=args.seed)
        ids = select_episodes([e.episode_id for e in env.unwrapped.episodes.episodes], args.episodes, args.seed)
        name = args.agent or "checkpoint"
        ablate = None if args.ablate == "none" else args.ablate
        t0 = time.perf_counter()
        records = evaluate_episodes(env, agent, ids, ablate=ablate, progress=not args.no_progress,
                                    desc=f"eval {name} {args.split}" + (f" ablate={ablate}" if ablate else ""))
        seconds = time.perf_counter() - t0
    finally:
        env.close()
    summary = aggregate(records)
    m, e = write_results(args.out, records, summary)
    steps = sum(len(r["actions"]) for r in records)
    print(json.dumps(summary))
    print(f"{name} on {args.split}: sr={summary['sr']:.3f} spl={summary['spl']:.3f} ndtw={summary['ndtw']:.3f} "
          f"({summary['episodes']} episodes, {steps / max(seconds, 1e-9):.0f} steps/s) -> {m}, {e}")
    return 0
