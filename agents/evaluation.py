"""Evaluation: the agent factory and scoring an agent over a split's episodes.

``make_agent`` is the one agent factory: a baseline name (``envs.baselines.BASELINES``:
random, forward-only, expert) or a checkpoint (its policy behind ``PolicyAgent``), both
with the rollout interface ``reset()`` / ``act(obs) -> (action, attention)``.
``evaluate_episodes`` starts each episode by id and runs it with the shared rollout
loop (``agents.rollout.run_episode``, also used by ``vlnsim render-rollout``); metrics
come from the env's ``info["metrics"]``, aggregated with ``vlnsim.metrics.aggregate``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch

from vlnsim.errors import ConfigError
from vlnsim.io_utils import atomic_write_text

from .rollout import ABLATIONS, ablate_observation, episode_record, run_episode  # noqa: F401  (re-exported)

# What a VLN policy reads; other policies (PointNav) list theirs as ``policy.observation_keys``.
VLN_OBSERVATION_KEYS = ("rgb", "depth", "instruction", "instruction_mask", "semantic_category")


def resolve_device(name: Optional[str]) -> torch.device:
    """"auto"/None -> cuda when available else cpu; "cuda" without a GPU is an error."""
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda requested but torch.cuda.is_available() is False; expected --device cpu")
    if name not in ("cpu", "cuda") and not str(name).startswith("cuda:"):
        raise ConfigError(f"device {name!r}; expected cpu, cuda or auto")
    return torch.device(name)


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
                 for k in getattr(self.policy, "observation_keys", VLN_OBSERVATION_KEYS) if k in obs}
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
    from .config import policy_config
    from .policies import build_policy, check_policy_meta
    from .trainers.checkpoint import load_checkpoint

    weights, _, meta = load_checkpoint(ckpt_path)
    where = str(meta.get("path", ckpt_path))
    pcfg = policy_config(meta["config"]["policy"], source=where)
    if getattr(getattr(pcfg, "depth", None), "pretrained", None):
        pcfg.depth.pretrained = None  # the checkpoint holds the depth weights; the source may be gone
    word_list = None
    ic = getattr(pcfg, "instruction", None)
    if getattr(ic, "type", None) == "pretrained":
        word_list = _checkpoint_word_list(meta, where)
        tower = meta.get("instruction_tower") or {}
        if tower.get("source") and Path(str(tower["source"])).is_dir() and not _resolves(ic.model):
            ic.model = str(tower["source"])  # the configured path was relative to another directory
    policy = build_policy(pcfg, meta["vocab_size"], meta.get("clip_config"), word_list=word_list)
    check_policy_meta(policy, meta, where)
    missing, unexpected = policy.load_state_dict(weights, strict=False)
    # Non-persistent buffers (CLIP mean/std, position ids) are rebuilt, not stored.
    bad = [k for k in missing if not k.endswith(("position_ids", ".mean", ".std"))]
    if bad or unexpected:
        raise ConfigError(f"checkpoint {meta['path']!r} does not match its policy config: missing {bad[:5]}, unexpected {unexpected[:5]}")
    return policy.to(device).eval(), meta


def _resolves(model: Optional[str]) -> bool:
    from .encoders.pretrained_text import resolve_text_tower

    try:
        resolve_text_tower(str(model))
    except ConfigError:
        return False
    return True


def _checkpoint_word_list(meta: dict, where: str) -> List[str]:
    """The dataset word list of a checkpoint (stored since the pretrained text towers; else its training split's)."""
    if meta.get("word_list"):
        return [str(w) for w in meta["word_list"]]
    env = meta.get("env") or {}
    try:
        from vlnsim.episodes import load_split

        return [str(w) for w in load_split(env["data_root"], env["dataset"], env.get("split", "train"), env.get("version", "v1")).word_list]
    except Exception as exc:  # noqa: BLE001 -- any failure means the same thing here
        raise ConfigError(f"checkpoint {where!r} stores no word_list and its training split is unreadable "
                          f"({type(exc).__name__}); expected a checkpoint written by this version") from None


def make_agent(name: Optional[str] = None, ckpt: Optional[str] = None, env=None, device="auto", seed: int = 0):
    """The one agent factory: baseline ``name`` (``envs.baselines.BASELINES``) or checkpoint ``ckpt``.

    A checkpoint's policy runs on ``device`` (a name or ``torch.device``) behind
    ``PolicyAgent``; ``env`` should observe what the policy reads (``rgb``, ``depth``
    and the instruction for VLN) at the resolution it was trained with (other
    resolutions are resized, at some cost in accuracy). Give exactly one of ``name``
    and ``ckpt``.
    """
    if (name is None) == (ckpt is None):
        raise ConfigError(f"agent: name={name!r}, ckpt={ckpt!r}; expected exactly one of a baseline name and a checkpoint")
    if ckpt is None:
        from envs.baselines import make_baseline

        return make_baseline(name, env, seed=seed)
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    policy, _ = load_policy(ckpt, dev)
    space = getattr(env, "observation_space", None)
    if space is not None and hasattr(space, "spaces"):
        need = set(getattr(policy, "observation_keys", ())) or \
            ({"depth", "instruction", "instruction_mask"} | ({"rgb"} if policy.clip is not None else set())
             | ({"semantic_category"} if getattr(policy, "semantic_encoder", None) is not None else set()))
        missing = sorted(need - set(space.spaces))
        if missing:
            raise ConfigError(f"env observations lack {missing} that the policy in {str(ckpt)!r} reads")
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
        obs, _ = env.reset(options={"episode_id": eid})
        weights: List[Any] = []  # per step: attention over the instruction tokens, or None
        actions, info = run_episode(env, agent, obs, ablate=ablate, on_step=lambda a, w, i: weights.append(w))
        records.append({**episode_record(actions, info), **attention_fields(weights)})
    return records


def attention_fields(weights: Sequence[Optional[Sequence[float]]]) -> Dict[str, Any]:
    """Compact attention for ``episodes.jsonl`` (read by ``vlnsim report``); {} when the agent has none.

    ``attention_mean``: mean weight per instruction token over the steps (4 decimals);
    ``attention_top``: per step, the indices of its 3 most attended tokens ([] for a step
    without weights). Token i is token i of ``vlnsim.episodes.tokenize(instruction_text)``.
    """
    steps = [None if w is None else np.asarray(w, dtype=np.float64).reshape(-1) for w in weights]
    given = [w for w in steps if w is not None and w.size]
    if not given:
        return {}
    mat = np.zeros((len(given), max(w.size for w in given)))
    for i, w in enumerate(given):
        mat[i, : w.size] = w
    return {"attention_mean": [round(float(x), 4) for x in mat.mean(axis=0)],
            "attention_top": [[] if w is None else np.argsort(-w, kind="stable")[:3].tolist() for w in steps]}


def aggregate(records: Sequence[Dict[str, Any]]) -> Dict[str, float]:
    """The aggregate metrics of docs/ARCHITECTURE.md (ne, sr, osr, spl, tl, ndtw, sdtw, cls, episodes)."""
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
