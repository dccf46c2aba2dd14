"""Checkpoints of the discrete IL trainer (``r2r_dagger``): the last one and the best one.

Both use ``agents.trainers.checkpoint.save_checkpoint`` (safetensors weights, optimizer
moments and RNG states in ``trainer_state.safetensors``, everything else in
``trainer_state.json``; written atomically, ``latest.json`` points at it):

* ``<run_dir>/checkpoints/ckpt_<global_step>``: the last state (after every iteration and
  at a ``--max-steps`` stop); ``--resume`` continues it. Older ones are deleted once the
  new one is published.
* ``<run_dir>/checkpoints/best/ckpt_<iteration>``: the policy of the iteration with the
  highest SR on ``trainer.eval_split`` so far (ties keep the earlier one); no optimizer.

Both live under ``checkpoints/`` (one of ``agents.run_dir.RUN_OUTPUTS``), so ``--fresh``
deletes them and a rerun without ``--resume``/``--fresh`` is refused.
``load_policy(path)`` accepts a run directory (its last checkpoint), ``checkpoints/best``,
a ``ckpt_*`` directory, or a legacy run directory holding ``r2r_policy.safetensors``.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict, Optional, Union

import torch

from vlnsim.errors import CheckpointError

from ..trainers.checkpoint import load_checkpoint, save_checkpoint
from .policy import R2RPolicyConfig, R2RSeq2SeqPolicy

TRAINER_NAME = "r2r_dagger"
BEST_DIR = "best"


def prune(root: Path, keep: Path) -> None:
    """Delete the ``ckpt_*`` directories of ``root`` other than ``keep``."""
    for p in Path(root).glob("ckpt_*"):
        if p.is_dir() and p.name != keep.name:
            shutil.rmtree(p, ignore_errors=True)


def save_last(run_dir: Path, step: int, policy: torch.nn.Module, optimizer: torch.optim.Optimizer,
              meta: Dict[str, Any]) -> Path:
    """The resumable checkpoint ``checkpoints/ckpt_<step>`` (older ``ckpt_*`` pruned)."""
    root = Path(run_dir) / "checkpoints"
    final = save_checkpoint(root, step, policy, optimizer, dict(meta, trainer=TRAINER_NAME))
    prune(root, final)
    return final


def save_best(run_dir: Path, iteration: int, policy: torch.nn.Module, meta: Dict[str, Any]) -> Path:
    """The best policy so far: ``checkpoints/best/ckpt_<iteration>`` (weights only; older pruned)."""
    root = Path(run_dir) / "checkpoints" / BEST_DIR
    final = save_checkpoint(root, iteration, policy, None, dict(meta, trainer=TRAINER_NAME))
    prune(root, final)
    return final


def policy_meta(policy: R2RSeq2SeqPolicy, vocab_size: int) -> Dict[str, Any]:
    """What ``load_policy`` needs to rebuild the policy."""
    from dataclasses import asdict

    return {"vocab_size": int(vocab_size), "feature_dim": int(policy.cand_dim - 4), "policy": asdict(policy.cfg)}


def _build(meta: Dict[str, Any], where: Union[str, Path]) -> R2RSeq2SeqPolicy:
    try:
        pcfg = dict(meta["policy"])
        pcfg.pop("type", None)
        pcfg.pop("feature_dim", None)
        return R2RSeq2SeqPolicy(int(meta["vocab_size"]), int(meta["feature_dim"]),
                                R2RPolicyConfig(feature_dim=int(meta["feature_dim"]), **pcfg))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: not a discrete-setting (r2r_dagger) checkpoint ({type(exc).__name__}: {exc})") from None


def load_policy(path: Union[str, Path]) -> R2RSeq2SeqPolicy:
    """The policy of an ``r2r_dagger`` run (see the module docstring), in eval mode."""
    p = Path(path)
    legacy = p / "r2r_policy.json"
    if legacy.is_file() and not (p / "checkpoints").is_dir():
        from safetensors.torch import load_file

        policy = _build(json.loads(legacy.read_text()), legacy)
        policy.load_state_dict(load_file(str(p / "r2r_policy.safetensors")))
        return policy.eval()
    weights, _, meta = load_checkpoint(p)
    if meta.get("trainer") != TRAINER_NAME:
        raise CheckpointError(f"{meta.get('path', p)}: written by trainer {meta.get('trainer')!r}; expected an "
                              f"{TRAINER_NAME} (discrete setting) checkpoint")
    policy = _build(meta, meta.get("path", p))
    try:
        policy.load_state_dict(weights)
    except RuntimeError as exc:
        raise CheckpointError(f"{meta.get('path', p)}/model.safetensors: does not match the recorded policy "
                              f"({' '.join(str(exc).split())[:160]})") from None
    return policy.eval()


def has_checkpoint(run_dir: Union[str, Path]) -> Optional[Path]:
    """The loadable thing in ``run_dir`` (run dir with checkpoints or a legacy run), or None."""
    p = Path(run_dir)
    if (p / "checkpoints" / "latest.json").is_file() or (p / "r2r_policy.json").is_file():
        return p
    return None
