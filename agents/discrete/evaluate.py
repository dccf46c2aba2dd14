"""Rollouts and evaluation in ``vlnsim/R2R-v0``: the trained policy and the baselines.

``vlnsim eval --setting discrete`` (``eval_main``) scores ``--agent expert|random`` or
``--ckpt RUN_DIR`` (an ``r2r_dagger`` run; needs ``--features``) on a split and writes
``metrics.json`` (aggregate R2R metrics: ne, sr, osr, spl, tl, ndtw, sdtw, cls,
episodes, plus what was evaluated) and ``episodes.jsonl`` (one line per episode:
episode index, scan, path_id, instruction index, trajectory, actions, metrics).

Baselines: ``expert`` follows the graph shortest path; ``random`` picks uniformly among
STOP and the valid candidates at every step.
"""
from __future__ import annotations

import argparse
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch

from vlnsim.errors import ConfigError
from vlnsim.metrics import aggregate

OBS_KEYS = ("features", "candidates", "candidate_view", "candidate_mask")
AGENTS = ("expert", "random")


def make_env(cfg, split: str, features: bool = True):
    """``vlnsim/R2R-v0`` for a trainer config (``data_root``, ``dataset``, ``features``, ``max_steps``)."""
    import gymnasium

    import envs  # noqa: F401  (registers the ids)

    kw = dict(observation="features", features=cfg.features) if features else dict(observation="none")
    return gymnasium.make("vlnsim/R2R-v0", data_root=cfg.data_root, dataset=cfg.dataset, split=split,
                          max_steps=cfg.max_steps, **kw).unwrapped


def _tensors(obs: Dict[str, np.ndarray], device: torch.device) -> Dict[str, torch.Tensor]:
    return {k: torch.as_tensor(obs[k]).unsqueeze(0).to(device) for k in OBS_KEYS}


def run_episode(env, policy, index: int, choose: Callable[[int, Optional[torch.Tensor], Dict[str, np.ndarray]], int],
                on_step: Optional[Callable[[int, Dict[str, Any]], None]] = None):
    """Roll episode ``index``; ``choose(expert_action, logits, obs)`` picks each action;
    ``on_step(action, info)`` runs after every env step (e.g. to draw a frame).

    Returns (per-step cross-entropy terms to the expert's action (empty without a policy),
    the final info dict, the actions taken).
    """
    obs, info = env.reset(options={"episode_index": index})
    losses: List[torch.Tensor] = []
    actions: List[int] = []
    if policy is not None:
        dev = next(policy.parameters()).device
        tokens = torch.as_tensor(obs["instruction"]).unsqueeze(0).to(dev)
        mask = torch.as_tensor(obs["instruction_mask"]).unsqueeze(0).to(dev)
        ctx, state = policy.encode(tokens, mask)
        prev = torch.zeros(1, policy.cand_dim, device=dev)
    done = False
    while not done:
        expert = int(info["expert_action"])
        logits = None
        if policy is not None:
            logits, state, cands = policy.step(_tensors(obs, dev), ctx, mask, state, prev)
            losses.append(torch.nn.functional.cross_entropy(logits, torch.tensor([expert], device=dev)))
        action = int(choose(expert, logits, obs))
        if policy is not None:
            prev = cands[:, action]
        actions.append(action)
        obs, _, term, trunc, info = env.step(action)
        done = term or trunc
        if on_step is not None:
            on_step(action, info)
    return losses, info, actions


def chooser(agent: str, seed: int = 0):
    """The action rule of a baseline name, or greedy for "policy"."""
    rng = np.random.default_rng(seed)
    if agent == "expert":
        return lambda e, lg, obs: e
    if agent == "random":
        return lambda e, lg, obs: int(rng.choice(np.concatenate([[0], np.flatnonzero(obs["candidate_mask"]) + 1])))
    if agent == "policy":
        return lambda e, lg, obs: int(lg.argmax(-1))
    raise ConfigError(f"discrete agent {agent!r}; expected one of {list(AGENTS)} or a --ckpt")


def evaluate_records(env, policy=None, agent: str = "policy", episodes: int = 0, seed: int = 0,
                     progress: bool = False) -> List[Dict[str, Any]]:
    """One record per episode (the first ``episodes``, or all when 0)."""
    from tqdm import tqdm

    n = len(env.episodes) if not episodes else min(episodes, len(env.episodes))
    choose = chooser(agent, seed)
    if policy is not None:
        policy.eval()
    out = []
    with torch.no_grad():
        for i in tqdm(range(n), desc=f"eval {agent}", disable=not progress):
            _, info, actions = run_episode(env, policy, i, choose)
            rec, k = env.episodes[i]
            out.append({"episode_index": i, "scan": rec.scan, "path_id": rec.path_id, "instruction_index": k,
                        "trajectory": info["trajectory"], "actions": actions, "stopped": info["stopped"],
                        "metrics": info["metrics"]})
    return out


def summarize(records: List[Dict[str, Any]]) -> Dict[str, float]:
    """``vlnsim.metrics.aggregate`` of the records plus ``sr_stop`` (success with STOP called, VLN-CE's rule)
    and ``stop_rate``."""
    out = aggregate(r["metrics"] for r in records)
    out["sr_stop"] = float(np.mean([r["metrics"]["success"] * r["stopped"] for r in records]))
    out["stop_rate"] = float(np.mean([r["stopped"] for r in records]))
    return out


def evaluate(env, policy=None, agent: str = "policy", episodes: int = 0, seed: int = 0) -> Dict[str, float]:
    """Aggregate R2R metrics (``summarize``)."""
    return summarize(evaluate_records(env, policy, agent, episodes, seed))


def eval_main(args: argparse.Namespace) -> int:
    """``vlnsim eval --setting discrete``."""
    import json
    from types import SimpleNamespace

    from agents.evaluation import write_results
    from vlnsim.io_utils import check_output_dir

    check_output_dir(args.out, "--out")
    torch.set_num_threads(max(1, args.threads))
    policy = None
    if args.ckpt:
        from .trainer import load_policy

        if not args.features:
            raise ConfigError("--setting discrete --ckpt needs --features (the HDF5 file the agent was trained on)")
        policy = load_policy(args.ckpt)
    cfg = SimpleNamespace(data_root=args.data_root, dataset=args.dataset or "procgen_r2r_discrete",
                          features=args.features, max_steps=15)
    env = make_env(cfg, args.split, features=policy is not None)
    try:
        records = evaluate_records(env, policy, "policy" if policy is not None else args.agent,
                                   args.episodes or 0, args.seed, progress=not args.no_progress)
    finally:
        env.close()
    summary = summarize(records)
    summary.update(agent=args.agent or "checkpoint", checkpoint=args.ckpt, dataset=cfg.dataset, split=args.split,
                   data_root=str(args.data_root), setting="discrete", seed=args.seed)
    m, e = write_results(args.out, records, summary)
    print(json.dumps(summary))
    print(f"{summary['agent']} on {args.split} (discrete): sr={summary['sr']:.3f} spl={summary['spl']:.3f} "
          f"ndtw={summary['ndtw']:.3f} ({summary['episodes']} episodes) -> {m}, {e}")
    return 0
