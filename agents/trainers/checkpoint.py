"""Checkpoints: safetensors for tensors, JSON for everything else; never pickle.

A checkpoint is a directory ``<run_dir>/checkpoints/ckpt_<iteration>/`` holding
``model.safetensors`` (policy weights), ``trainer_state.safetensors`` (optimizer
moments, torch RNG states) and ``trainer_state.json`` (config, vocabulary size, CLIP
architecture, optimizer hyper-parameters, python/numpy RNG states, step, iteration,
buffer position). The directory is written under a temporary name and renamed, then
``checkpoints/latest.json`` is replaced atomically, so a crash never leaves a partial
checkpoint that resume would pick up.
"""
from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from vlnsim.errors import ConfigError
from vlnsim.io_utils import atomic_write_text

MODEL_FILE = "model.safetensors"
STATE_FILE = "trainer_state.safetensors"
META_FILE = "trainer_state.json"


def _contiguous(tensors: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    # safetensors refuses shared or non-contiguous storage (tied weights, views).
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}


def optimizer_to_flat(optimizer: torch.optim.Optimizer) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """Split an optimizer state dict into tensors (for safetensors) and JSON-able rest."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for name, value in st.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{pid}.{name}"] = value
            else:
                scalars[f"{pid}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_flat(optimizer: torch.optim.Optimizer, tensors: Dict[str, torch.Tensor], meta: Dict[str, Any]) -> None:
    """Inverse of ``optimizer_to_flat``: load the state into ``optimizer``."""
    state: Dict[int, Dict[str, Any]] = {}
    for key, value in tensors.items():
        if not key.startswith("optim."):
            continue
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = value
    for key, value in meta["scalars"].items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def rng_state() -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """Python, numpy (legacy global) and torch (CPU + CUDA) RNG states."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    py = random.getstate()
    np_state = np.random.get_state()
    meta = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
    }
    return tensors, meta


def set_rng_state(tensors: Dict[str, torch.Tensor], meta: Dict[str, Any]) -> None:
    """Restore what ``rng_state`` captured."""
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    py = meta["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = meta["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), n[2], n[3], n[4]))


def save_checkpoint(ckpt_root: Union[str, Path], iteration: int, model: torch.nn.Module,
                    optimizer: Optional[torch.optim.Optimizer], meta: Dict[str, Any],
                    extra_tensors: Optional[Dict[str, torch.Tensor]] = None) -> Path:
    """Write ``ckpt_root/ckpt_<iteration>`` atomically and point ``latest.json`` at it."""
    root = Path(ckpt_root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"ckpt_{iteration:04d}"
    tmp = root / f".ckpt_{iteration:04d}.tmp{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_file(_contiguous(model.state_dict()), str(tmp / MODEL_FILE))
    tensors, rng_meta = rng_state()
    meta = dict(meta, rng=rng_meta, iteration=iteration)
    if optimizer is not None:
        opt_t, opt_meta = optimizer_to_flat(optimizer)
        tensors.update(opt_t)
        meta["optimizer"] = opt_meta
    tensors.update(extra_tensors or {})
    save_file(_contiguous(tensors), str(tmp / STATE_FILE))
    (tmp / META_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True))
    for f in tmp.iterdir():  # durable before the rename publishes it
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    if final.exists():
        old = root / f".ckpt_{iteration:04d}.old{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    atomic_write_text(root / "latest.json", json.dumps({"checkpoint": final.name, "iteration": iteration}))
    return final


def resolve_checkpoint(path: Union[str, Path]) -> Path:
    """Accept a checkpoint dir, its model.safetensors, a checkpoints/ dir or a run dir."""
    p = Path(path)
    if p.is_file() and p.name == MODEL_FILE:
        p = p.parent
    for root in (p, p / "checkpoints"):
        latest = root / "latest.json"
        if latest.is_file():
            name = json.loads(latest.read_text())["checkpoint"]
            return root / name
    if (p / MODEL_FILE).is_file() and (p / META_FILE).is_file():
        return p
    raise ConfigError(
        f"checkpoint {str(path)!r} not found; expected a ckpt_NNNN directory (with {MODEL_FILE} and {META_FILE}), "
        "its model.safetensors, or a run directory holding checkpoints/latest.json"
    )


def load_checkpoint(path: Union[str, Path]) -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor], Dict[str, Any]]:
    """Return (model tensors, trainer-state tensors, metadata) of a checkpoint."""
    d = resolve_checkpoint(path)
    meta = json.loads((d / META_FILE).read_text())
    model = load_file(str(d / MODEL_FILE))
    state = load_file(str(d / STATE_FILE)) if (d / STATE_FILE).is_file() else {}
    meta["path"] = str(d)
    return model, state, meta
