"""Evaluation: run an agent over a split's episodes and score it with the standard metrics.

Trained policies and the built-in baselines (``random``, ``forward-only``, ``expert``
from ``envs.baselines``) all go through ``evaluate_episodes``: one env, each episode
started by id, the agent's ``reset()`` / ``act(obs) -> (action, attention)`` called each
step, metrics from the env's ``info["metrics"]`` aggregated with
``vlnsim.metrics.aggregate``. Ablations blank inputs before the agent sees them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch

from vlnsim.errors import ConfigError
from vlnsim.io_utils import atomic_write_text

ABLATIONS = ("instruction", "vision")


def resolve_device(name: Optional[str]) -> torch.device:
    """"auto"/None -> cuda when available else cpu; "cuda" without a GPU is an error."""
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda requested but torch.cuda.is_available() is False; expected --device cpu")
    if name not in ("cpu", "cuda") and not str(name).startswith("cuda:"):
        raise ConfigError(f"device {name!r}; expected cpu, cuda or auto")
    return torch.device(name)


def ablate_observation(obs: Dict[str, np.ndarray], ablate: Optional[str]) -> Dict[str, np.ndarray]:
    """``instruction``: tokens replaced by padding; ``vision``: RGB and depth blanked."""
    if ablate is None:
        return obs
    if ablate not in ABLATIONS:
        raise ConfigError(f"ablation {ablate!r}; expected one of {list(ABLATIONS)} or none")
    obs = dict(obs)
    keys = ("instruction", "instruction_mask") if ablate == "instruction" else ("rgb", "depth")
    for k in keys:
        if k in obs:
            obs[k] = np.zeros_like(obs[k])
    return obs


class PolicyAgent:
    """A trained policy behind the rollout interface: ``reset()``, ``act(obs) -> (action, weights)``.

    ``weights`` are the attention weights over the instruction's tokens (index i is token
    i of ``obs["instruction"]``) for policies that attend, else None.
    """

    def __init__(self, policy, device: torch.device, deterministic: bool = True):
        self.policy = policy.eval()
        self.device = device
        self.deterministic = deterministic
        self.reset()

    def reset(self) -> None:
        self.hidden = self.policy.initial_hidden(1, self.device)
        self.prev = torch.zeros(1, dtype=torch.long, device=self.device)
        self.mask = torch.zeros(1, device=self.device)
        self.instruction = None  # encoded once per episode

    @torch.no_grad()
    def act(self, obs: Dict[str, np.ndarray]) -> Tuple[int, Optional[List[float]]]:
        batch = {k: torch.as_tensor(np.asarray(obs[k]))[None].to(self.device)
                 for k in ("rgb", "depth", "instruction", "instruction_mask") if k in obs}
        actions, self.hidden, extras = self.policy.act(batch, self.hidden, self.prev, self.mask, self.deterministic,
                                                       instruction=self.instruction)
        self.instruction = extras["instruction"]
        self.prev = actions
        self.mask = torch.ones(1, device=self.device)
        att = extras.get("attention")
        weights = None
        if att is not None:
            n = int(np.asarray(obs["instruction_mask"]).astype(bool).sum())
            weights = att[0, :n].float().cpu().tolist()
        return int(actions[0]), weights


def load_policy(ckpt_path, device: torch.device):
    """Rebuild the policy saved in a checkpoint; returns ``(policy, metadata)``."""
    from .config import PolicyConfig, _build
    from .policies import build_policy
    from .trainers.checkpoint import load_checkpoint

    weights, _, meta = load_checkpoint(ckpt_path)
    pcfg = _build(PolicyConfig, meta["config"]["policy"], "policy")
    policy = build_policy(pcfg, meta["vocab_size"], meta.get("clip_config"))
    missing, unexpected = policy.load_state_dict(weights, strict=False)
    # Non-persistent buffers (CLIP mean/std, position ids) are rebuilt, not stored.
    bad = [k for k in missing if not k.endswith(("position_ids", ".mean", ".std"))]
    if bad or unexpected:
        raise ConfigError(f"checkpoint {meta['path']!r} does not match its policy config: missing {bad[:5]}, unexpected {unexpected[:5]}")
    return policy.to(device).eval(), meta


def load_policy_for_rollout(ckpt_path, env, device="cpu") -> PolicyAgent:
    """A checkpoint's policy as a rollout agent (``reset()``, ``act(obs) -> (int, weights|None)``).

    ``env`` should observe ``rgb``, ``depth`` and the instruction at the resolution the
    policy was trained with (other resolutions are resized, at some cost in accuracy).
    """
    dev = resolve_device(device)
    policy, meta = load_policy(ckpt_path, dev)
    space = getattr(env, "observation_space", None)
    if space is not None and hasattr(space, "spaces"):
        need = {"depth", "instruction", "instruction_mask"} | ({"rgb"} if policy.clip is not None else set())
        missing = sorted(need - set(space.spaces))
        if missing:
            raise ConfigError(f"env observations lack {missing} that the policy in {str(ckpt_path)!r} reads")
    return PolicyAgent(policy, dev)


def select_episodes(episode_ids: Sequence[str], count: Optional[int], seed: int = 0) -> List[str]:
    """``count`` episodes drawn with ``default_rng(seed)``, kept in file order (all when None)."""
    ids = [str(e) for e in episode_ids]
    if count is None or count >= len(ids):
        return ids
    if count < 1:
        raise ConfigError(f"--episodes {count}; expected at least 1")
    keep = set(np.random.default_rng(seed).permutation(len(ids))[:count].tolist())
    return [e for i, e in enumerate(ids) if i in keep]


def evaluate_episodes(env, agent, episode_ids: Iterable[str], ablate: Optional[str] = None,
                      progress: bool = True, desc: str = "eval") -> List[Dict[str, Any]]:
    """Run ``agent`` once on each episode id; return per-episode records with metrics."""
    from tqdm import tqdm

    ids = list(episode_ids)
    records = []
    for eid in tqdm(ids, desc=desc, unit="ep", disable=not progress, leave=False):
        obs, info = env.reset(options={"episode_id": eid})
        agent.reset()
        actions: List[int] = []
        done = False
        while not done:
            action, _ = agent.act(ablate_observation(obs, ablate))
            actions.append(int(action))
            obs, _, term, trunc, info = env.step(int(action))
            done = term or trunc
        records.append({"episode_id": str(info["episode_id"]), "scene_id": info["scene_id"],
                        "path": [[float(v) for v in p] for p in info["path"]], "actions": actions,
                        "metrics": {k: float(v) for k, v in info["metrics"].items()}})
    return records


def aggregate(records: Sequence[Dict[str, Any]]) -> Dict[str, float]:
    """DESIGN.md's aggregate metrics (ne, sr, osr, spl, tl, ndtw, sdtw, cls, episodes)."""
    from vlnsim.metrics import aggregate as agg

    return agg([r["metrics"] for r in records])


def write_results(out_dir, records: Sequence[Dict[str, Any]], summary: Dict[str, Any]) -> Tuple[Path, Path]:
    """Write ``metrics.json`` and ``episodes.jsonl`` atomically into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = out / "metrics.json"
    e = out / "episodes.jsonl"
    atomic_write_text(e, "".join(json.dumps(r) + "\n" for r in records))
    atomic_write_text(m, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return m, e


def make_agent(name: Optional[str], ckpt: Optional[str], env, device: torch.device, seed: int = 0):
    """A baseline by name or a checkpoint's policy, behind the same interface."""
    if ckpt is not None:
        policy, _ = load_policy(ckpt, device)
        return PolicyAgent(policy, device)
    from envs.baselines import make_baseline

    return make_baseline(name, env, seed=seed)
