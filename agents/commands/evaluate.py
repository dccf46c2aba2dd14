"""``vlnsim eval``: score a trained checkpoint or a baseline on a split.

Writes ``metrics.json`` (ne, sr, osr, spl, tl, ndtw, sdtw, cls, episodes, plus what was
evaluated: agent, checkpoint, dataset, split, ablation) and ``episodes.jsonl``
(episode_id, scene_id, path, actions, metrics) into ``--out``. Trained agents and the
baselines (``envs.baselines.BASELINES``) come from one factory
(``agents.evaluation.make_agent``) and run through the same rollout loop.
"""
from __future__ import annotations

import argparse

from vlnsim.errors import ConfigError

from vlnsim.registry import LazyChoices


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a checkpoint or a baseline agent (metrics.json + episodes.jsonl)",
        description="Run an agent over a split and write metrics.json and episodes.jsonl.",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--ckpt", help="checkpoint dir, its model.safetensors, or a run dir (latest checkpoint)")
    who.add_argument("--agent", choices=LazyChoices("envs.baselines:BASELINES"), metavar="NAME", help="a built-in baseline agent (%(choices)s)")
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
    p.add_argument("--setting", choices=("continuous", "discrete"), default="continuous",
                   help="discrete: R2R on navigation graphs (vlnsim/R2R-v0; --ckpt = an r2r_dagger run dir)")
    p.add_argument("--features", default=None, help="discrete: HDF5 panorama features (needed with --ckpt)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.setting == "discrete":
        from agents.discrete.evaluate import eval_main
        return eval_main(args)
    import json
    import time

    import envs
    from agents.evaluation import aggregate, evaluate_episodes, make_agent, resolve_device, select_episodes, write_results
    from vlnsim.io_utils import check_output_dir

    check_output_dir(args.out, "--out")
    if args.threads < 0:
        raise ConfigError(f"--threads {args.threads}; expected 0 (torch default) or a positive thread count")
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    env_fields = dict(envs.EnvConfig().to_dict(), width=64, height=64)
    device, ckpt_path = None, None
    if args.ckpt:
        from agents.trainers.checkpoint import load_checkpoint

        device = resolve_device(args.device)
        _, _, meta = load_checkpoint(args.ckpt)
        if not isinstance(meta.get("env"), dict):
            raise ConfigError(f"--ckpt {args.ckpt}: this checkpoint records no navigation environment (is it a "
                              "`vlnsim pretrain` or `vlnsim finetune` run?); expected a run of `vlnsim train`")
        env_fields = dict(meta["env"])
        ckpt_path = meta.get("path", args.ckpt)
    env_fields.update(split=args.split, data_root=args.data_root, expert_action_sensor=False, progress_sensor=False,
                      episode_ids=None, shard_index=0, num_shards=1)
    for key in ("dataset", "width", "height"):
        if getattr(args, key) is not None:
            env_fields[key] = getattr(args, key)
    env = envs.make_env(env_fields)
    try:
        agent = make_agent(args.agent, ckpt_path, env, device, seed=args.seed)
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
    cfg = env.unwrapped.config
    summary.update(agent=args.agent or "checkpoint", checkpoint=ckpt_path, dataset=cfg.dataset, split=cfg.split,
                   data_root=str(cfg.data_root), ablate=ablate, seed=args.seed)
    m, e = write_results(args.out, records, summary)
    steps = sum(len(r["actions"]) for r in records)
    print(json.dumps(summary))
    print(f"{name} on {args.split}: sr={summary['sr']:.3f} spl={summary['spl']:.3f} ndtw={summary['ndtw']:.3f} "
          f"({summary['episodes']} episodes, {steps / max(seconds, 1e-9):.0f} steps/s) -> {m}, {e}")
    return 0
