"""``vlnsim render-rollout``: one MP4 (and optional GIF) per episode of an agent's rollout.

Each frame is the env's composite (RGB, depth, top-down map with reference path, agent
path and goal, the instruction with the attended words highlighted when the policy
exposes attention, the action and running metrics); the video ends on a card with the
episode's metrics. ``--agent`` (a baseline of ``envs.baselines.BASELINES``) and
``--ckpt`` (a trained policy) come from the one agent factory
(``agents.evaluation.make_agent``); episodes run through the shared rollout loop
(``agents.rollout.run_episode``) with a frame written after every step.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, Dict, List

from vlnsim.errors import ConfigError
from vlnsim.registry import LazyChoices


def _safe(name: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


def rollout_episode(env, agent, obs: Dict[str, Any], path: Path, gif: bool = False, fps: float = 4.0) -> Dict[str, Any]:
    """Run the episode ``env`` was just reset to (``obs``) with ``agent``, writing its video to ``path``."""
    from vlnsim.viz.video import VideoWriter

    from agents.rollout import run_episode

    base = env.unwrapped
    ep = base.current_episode
    text = ep.instruction.instruction_text if ep.instruction is not None else ""
    with VideoWriter(path, fps=fps, gif_path=path.with_suffix(".gif") if gif else None) as writer:
        writer.append(base.render_frame())
        actions, info = run_episode(env, agent, obs, on_step=lambda a, weights, i: writer.append(base.render_frame(highlight=weights)))
        writer.append_metrics(info["metrics"], title=f"Episode {ep.episode_id}: metrics", subtitle=text)
    steps = len(actions)
    return {"episode_id": ep.episode_id, "scene_id": ep.scene_id, "steps": steps, "metrics": info["metrics"],
            "video": str(path), "gif": str(path.with_suffix(".gif")) if gif else None}


def main(args: argparse.Namespace) -> int:
    if getattr(args, "setting", "continuous") == "discrete":  # R2R graphs: agents.discrete.render
        from agents.discrete.render import render_main

        return render_main(args)
    import math

    import envs
    from agents.evaluation import make_agent
    from vlnsim.io_utils import atomic_write_text, check_output_dir

    if args.episodes < 1:
        raise ConfigError(f"--episodes {args.episodes}; expected at least 1")
    if not (math.isfinite(args.fps) and args.fps > 0):
        raise ConfigError(f"--fps {args.fps:g}; expected a positive frame rate (e.g. 4)")
    if args.ckpt is not None and not Path(args.ckpt).exists():
        raise ConfigError(f"--ckpt {args.ckpt!r} does not exist; expected a checkpoint written by `vlnsim train`")
    check_output_dir(args.out, "--out")
    overrides = dict(data_root=args.data_root, split=args.split)
    for key in ("dataset", "width", "height"):
        if getattr(args, key) is not None:  # unset flags leave the YAML (or default) value
            overrides[key] = getattr(args, key)
    if args.ckpt is not None and args.config is None:  # the task (VLN, PointNav) comes from the checkpoint
        from agents.trainers.checkpoint import load_checkpoint

        trained_on = load_checkpoint(args.ckpt)[2].get("env") or {}
        for key in ("task", "dataset", "max_depth", "max_episode_steps"):
            if key in trained_on:
                overrides.setdefault(key, trained_on[key])
    cfg = envs.load_config(args.config, overrides=args.set, **overrides)
    env = envs.make_env(cfg, render_mode="rgb_array")
    out = Path(args.out)
    agent_name = "ckpt_" + _safe(Path(args.ckpt).stem) if args.ckpt else args.agent
    records: List[Dict[str, Any]] = []
    try:
        agent = make_agent(args.agent, args.ckpt, env, args.device, seed=args.seed)
        n = min(args.episodes, len(env.unwrapped.episodes))
        from tqdm import tqdm

        it = tqdm(range(n), desc=f"render-rollout {agent_name}", unit="ep")
        for i in it:
            obs, _ = env.reset(seed=args.seed if i == 0 else None)
            ep_id = env.unwrapped.current_episode.episode_id
            path = out / f"{_safe(args.split)}_ep{_safe(ep_id)}_{agent_name}.mp4"
            records.append(rollout_episode(env, agent, obs, path, gif=args.gif, fps=args.fps))
    finally:
        env.close()
    atomic_write_text(out / f"rollouts_{agent_name}.json", json.dumps(records, indent=2))
    for r in records:
        m = r["metrics"]
        print(f"{r['video']}  steps={r['steps']}  success={m['success']:.0f}  spl={m['spl']:.2f}  ndtw={m['ndtw']:.2f}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "render-rollout",
        help="render agent rollouts to MP4 (and GIF) videos",
        description="Run an agent on a split and write one composite video per episode.",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--agent", choices=LazyChoices("envs.baselines:BASELINES"), metavar="NAME", help="a built-in baseline agent (%(choices)s)")
    who.add_argument("--ckpt", help="a trained policy: checkpoint dir, its model.safetensors, or a run dir")
    p.add_argument("--split", default="val_unseen", help="dataset split (default val_unseen)")
    p.add_argument("--episodes", type=int, default=3, help="number of episodes to render (default 3)")
    p.add_argument("--out", default="runs/rollouts", help="output directory for videos (default runs/rollouts)")
    p.add_argument("--gif", action="store_true", help="also write a GIF next to each MP4")
    p.add_argument("--data-root", default="data", help="data root (default data)")
    p.add_argument("--dataset", default=None, help="dataset name (default procgen_r2r)")
    p.add_argument("--config", default=None, help="env YAML (configs/vln_*.yaml); flags override it")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="env config override, repeatable")
    p.add_argument("--width", type=int, default=None, help="sensor width (default 128)")
    p.add_argument("--height", type=int, default=None, help="sensor height (default 128)")
    p.add_argument("--fps", type=float, default=4.0, help="video frame rate (default 4)")
    p.add_argument("--seed", type=int, default=0, help="env and random-agent seed (default 0)")
    p.add_argument("--device", default="cpu", help="torch device for --ckpt policies (default cpu)")
    p.add_argument("--setting", choices=("continuous", "discrete"), default="continuous",
                   help="continuous (VLN-CE, default) or discrete (R2R graphs: --agent expert|random or an r2r_dagger --ckpt)")
    p.add_argument("--features", default=None, help="discrete: HDF5 panorama features (needed with --ckpt)")
    p.set_defaults(func=main)
