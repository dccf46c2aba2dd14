"""``vlnsim render-rollout``: one MP4 (and optional GIF) per episode of an agent's rollout.

Each frame is the env's composite (RGB, depth, top-down map with reference path, agent
path and goal, the instruction with the attended words highlighted when the policy
exposes attention, the action and running metrics); the video ends on a card with the
episode's metrics. ``--agent`` runs a built-in baseline (``envs.baselines``);
``--ckpt`` loads a trained policy through ``agents.evaluation.load_policy_for_rollout``.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, Dict, List

from ..errors import ConfigError

AGENTS = ("random", "forward-only", "expert")


def _safe(name: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


def load_agent(args: argparse.Namespace, env) -> Any:
    """The baseline named by ``--agent`` or the policy in ``--ckpt``."""
    if args.ckpt is None:
        from envs.baselines import make_baseline

        return make_baseline(args.agent, env, seed=args.seed)
    ckpt = Path(args.ckpt)
    if not ckpt.exists():
        raise ConfigError(f"--ckpt {str(ckpt)!r} does not exist; expected a checkpoint written by `vlnsim train`")
    try:
        from agents.evaluation import load_policy_for_rollout
    except ImportError as exc:
        raise ConfigError(
            f"--ckpt needs agents.evaluation.load_policy_for_rollout, which is not available ({exc}); "
            "use --agent random|forward-only|expert, or install the agents package"
        ) from None
    return load_policy_for_rollout(str(ckpt), env, args.device)


def rollout_episode(env, agent, obs: Dict[str, Any], path: Path, gif: bool = False, fps: float = 4.0) -> Dict[str, Any]:
    """Run the episode ``env`` was just reset to (``obs``) with ``agent``, writing its video to ``path``."""
    from vlnsim.viz.video import VideoWriter

    base = env.unwrapped
    agent.reset()
    ep = base.current_episode
    text = ep.instruction.instruction_text if ep.instruction is not None else ""
    with VideoWriter(path, fps=fps, gif_path=path.with_suffix(".gif") if gif else None) as writer:
        writer.append(base.render_frame())
        done, info, steps = False, {}, 0
        while not done:
            action, weights = agent.act(obs)
            obs, _, terminated, truncated, info = env.step(int(action))
            steps += 1
            writer.append(base.render_frame(highlight=weights))
            done = terminated or truncated
        writer.append_metrics(info["metrics"], title=f"Episode {ep.episode_id}: metrics", subtitle=text)
    return {"episode_id": ep.episode_id, "scene_id": ep.scene_id, "steps": steps, "metrics": info["metrics"],
            "video": str(path), "gif": str(path.with_suffix(".gif")) if gif else None}


def main(args: argparse.Namespace) -> int:
    import envs
    from vlnsim.io_utils import atomic_write_text

    if args.episodes < 1:
        raise ConfigError(f"--episodes {args.episodes}; expected at least 1")
    overrides = dict(data_root=args.data_root, split=args.split)
    for key in ("dataset", "width", "height"):
        if getattr(args, key) is not None:  # unset flags leave the YAML (or default) value
            overrides[key] = getattr(args, key)
    cfg = envs.load_config(args.config, overrides=args.set, **overrides)
    env = envs.make_env(cfg, render_mode="rgb_array")
    out = Path(args.out)
    agent_name = "ckpt_" + _safe(Path(args.ckpt).stem) if args.ckpt else args.agent
    records: List[Dict[str, Any]] = []
    try:
        agent = load_agent(args, env)
        n = min(args.episodes, len(env.unwrapped.episodes))
        try:
            from tqdm import tqdm
        except ImportError:  # progress bars are a nicety
            tqdm = None
        it = range(n) if tqdm is None else tqdm(range(n), desc=f"render-rollout {agent_name}", unit="ep")
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
    who.add_argument("--agent", choices=AGENTS, help="a built-in baseline agent")
    who.add_argument("--ckpt", help="a trained policy checkpoint (agents.evaluation.load_policy_for_rollout)")
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
    p.set_defaults(func=main)
