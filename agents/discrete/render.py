"""``vlnsim render-rollout --setting discrete``: one MP4 (and optional GIF) per R2R episode.

``--agent expert|random`` (the discrete baselines) or ``--ckpt RUN_DIR`` (an
``r2r_dagger`` run; needs ``--features``) runs episodes 0..N-1 of the split in
``vlnsim/R2R-v0``, the same episodes and rules as ``vlnsim eval --setting discrete``.
Each frame (``vlnsim.discrete.render.discrete_frame``): the forward view, the
panorama's level row and a top-down map with the navigation graph, the reference path,
the agent's graph path and the goal; the video ends on a card with the episode's R2R
metrics. Panoramas are rendered at ``--width`` x ``--height`` (default 128).
"""
from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any, Dict, List

from vlnsim.errors import ConfigError


def _safe(name: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


def render_episode(env, policy, index: int, choose, path: Path, gif: bool = False, fps: float = 4.0,
                   maps: Dict[str, Any] = None) -> Dict[str, Any]:
    """Run episode ``index`` with ``choose`` (and ``policy``), writing its video to ``path``."""
    from vlnsim.discrete.render import discrete_frame, episode_map, graph_map
    from vlnsim.nav.grid import get_navgrid
    from vlnsim.scene.io import load_scene
    from vlnsim.viz.video import VideoWriter

    from .evaluate import run_episode

    maps = {} if maps is None else maps
    rec, k = env.episodes[index]
    graph = env.graph(rec.scan)
    if rec.scan not in maps:  # the house's map with its graph, drawn once
        scene = load_scene(Path(env.config.data_root) / "scene_datasets" / env.config.scene_id_format.format(scan=rec.scan))
        maps[rec.scan] = graph_map(graph, get_navgrid(scene), scene)
    base, info = maps[rec.scan]
    text = rec.instructions[k]

    def frame(action=None, metrics=None):
        top = episode_map(base, info, graph, rec.path, env.trajectory, env.heading)
        if metrics is None:
            metrics = {"distance_to_goal": env._dist, "path_length": graph.path_length(env.trajectory)}
        return discrete_frame(env.panorama(), env.heading, top, text, action=action, step=env.steps, metrics=metrics)

    with VideoWriter(path, fps=fps, gif_path=path.with_suffix(".gif") if gif else None) as writer:
        env.reset(options={"episode_index": index})
        first = frame()

        def on_step(action: int, step_info: Dict[str, Any]) -> None:
            name = "STOP" if action == 0 else f"candidate {action} -> {step_info['viewpoint']}"
            writer.append(frame(name, step_info.get("metrics")))

        # run_episode resets the env itself (same episode): the first frame is appended before it steps
        writer.append(first)
        _, final, actions = run_episode(env, policy, index, choose, on_step=on_step)
        writer.append_metrics(final["metrics"], title=f"Episode {index} ({rec.scan}, path {rec.path_id}): metrics",
                              subtitle=text)
    return {"episode_index": index, "scan": rec.scan, "path_id": rec.path_id, "instruction_index": k,
            "steps": len(actions), "stopped": final["stopped"], "trajectory": final["trajectory"],
            "metrics": final["metrics"], "video": str(path), "gif": str(path.with_suffix(".gif")) if gif else None}


def render_main(args: argparse.Namespace) -> int:
    """``vlnsim render-rollout --setting discrete`` (flags of ``agents.commands.render_rollout``)."""
    import gymnasium
    import torch
    from tqdm import tqdm

    import envs  # noqa: F401  (registers vlnsim/R2R-v0)
    from vlnsim.io_utils import atomic_write_text, check_output_dir

    from .evaluate import chooser

    if args.episodes < 1:
        raise ConfigError(f"--episodes {args.episodes}; expected at least 1")
    if not (math.isfinite(args.fps) and args.fps > 0):
        raise ConfigError(f"--fps {args.fps:g}; expected a positive frame rate (e.g. 4)")
    if args.ckpt is not None and not getattr(args, "features", None):
        raise ConfigError("--setting discrete --ckpt needs --features (the HDF5 file the agent was trained on)")
    if args.ckpt is None:
        chooser(args.agent)  # an unknown discrete agent is refused before anything is written
    check_output_dir(args.out, "--out")
    torch.set_num_threads(1)
    policy = None
    if args.ckpt is not None:
        from .checkpoint import load_policy

        policy = load_policy(args.ckpt)
    kw = dict(observation="features", features=args.features) if policy is not None else dict(observation="none")
    env = gymnasium.make("vlnsim/R2R-v0", data_root=args.data_root, dataset=args.dataset or "procgen_r2r_discrete",
                         split=args.split, width=args.width or 128, height=args.height or 128, panorama_cache=4,
                         **kw).unwrapped
    out = Path(args.out)
    name = "ckpt_" + _safe(Path(args.ckpt).name) if args.ckpt else args.agent
    records: List[Dict[str, Any]] = []
    maps: Dict[str, Any] = {}
    try:
        choose = chooser("policy" if policy is not None else args.agent, args.seed)
        n = min(args.episodes, len(env.episodes))
        with torch.no_grad():
            for i in tqdm(range(n), desc=f"render-rollout {name}", unit="ep"):
                path = out / f"{_safe(args.split)}_ep{i}_{name}.mp4"
                records.append(render_episode(env, policy, i, choose, path, gif=args.gif, fps=args.fps, maps=maps))
    finally:
        env.close()
    atomic_write_text(out / f"rollouts_{name}.json", json.dumps(records, indent=2))
    for r in records:
        m = r["metrics"]
        print(f"{r['video']}  steps={r['steps']}  success={m['success']:.0f}  spl={m['spl']:.2f}  ndtw={m['ndtw']:.2f}")
    return 0
