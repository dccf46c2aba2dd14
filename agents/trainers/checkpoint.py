"""Checkpoints: safetensors for tensors, JSON for everything else; never pickle.

A checkpoint is a directory ``<run_dir>/checkpoints/ckpt_<iteration>/`` holding
``model.safetensors`` (policy weights), ``trainer_state.safetensors`` (optimizer
moments, torch RNG states) and ``trainer_state.json`` (config, vocabulary size, CLIP
architecture, optimizer hyper-parameters, python/numpy RNG states, step, iteration,
buffer position, and the size and SHA-256 of both safetensors files). The directory is
written under a temporary name (``.ckpt_<iteration>.tmp<pid>``), fsynced and renamed,
then ``checkpoints/latest.json`` is replaced atomically, so a crash never leaves a
partial checkpoint that resume would pick up; the next save removes what an interrupted
one left behind (``clean_leftovers``).

Reading is checked: a truncated or corrupted safetensors file (size or SHA-256 differs
from what ``trainer_state.json`` recorded, or an unreadable header), an unparsable
``trainer_state.json`` or ``latest.json``, or a ``latest.json`` naming a checkpoint that
is not there raise ``CheckpointError`` with one line naming the file and the problem.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from vlnsim.errors import CheckpointError
from vlnsim.io_utils import atomic_write_text

MODEL_FILE = "model.safetensors"
STATE_FILE = "trainer_state.safetensors"
META_FILE = "trainer_state.json"
LATEST_FILE = "latest.json"
_LEFTOVER = re.compile(r"^\.(ckpt_\d+)\.(tmp|old)(\d+)$")


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


def _file_record(path: Path) -> Dict[str, Any]:
    """Size and SHA-256 of a file (read once; also makes it durable with fsync)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
        os.fsync(fh.fileno())
    return {"bytes": path.stat().st_size, "sha256": h.hexdigest()}


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftover: no save of ours is in progress when this runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(ckpt_root: Union[str, Path]) -> list:
    """Remove what interrupted saves left in ``ckpt_root``; return the names removed.

    ``.ckpt_N.tmp<pid>`` (a checkpoint being written) and ``.latest.json.*.tmp`` are
    deleted. ``.ckpt_N.old<pid>`` (the previous ``ckpt_N`` while it was being replaced)
    is renamed back to ``ckpt_N`` if that is missing (a crash between the two renames),
    else deleted. Entries of a live process (another saver) are left alone.
    """
    root = Path(ckpt_root)
    if not root.is_dir():
        return []
    removed = []
    for p in sorted(root.iterdir()):
        m = _LEFTOVER.match(p.name)
        if m:
            if _pid_alive(int(m.group(3))):
                continue
            final = root / m.group(1)
            if m.group(2) == "old" and not final.exists():
                os.replace(p, final)
                removed.append(p.name)
                continue
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            removed.append(p.name)
        elif p.name.startswith(f".{LATEST_FILE}.") and p.name.endswith(".tmp"):
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


def save_checkpoint(ckpt_root: Union[str, Path], iteration: int, model: torch.nn.Module,
                    optimizer: Optional[torch.optim.Optimizer], meta: Dict[str, Any],
                    extra_tensors: Optional[Dict[str, torch.Tensor]] = None) -> Path:
    """Write ``ckpt_root/ckpt_<iteration>`` atomically and point ``latest.json`` at it."""
    root = Path(ckpt_root)
    root.mkdir(parents=True, exist_ok=True)
    clean_leftovers(root)
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
    meta["files"] = {name: _file_record(tmp / name) for name in (MODEL_FILE, STATE_FILE)}
    with open(tmp / META_FILE, "w") as fh:
        fh.write(json.dumps(meta, indent=1, sort_keys=True))
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(tmp)  # durable before the rename publishes it
    if final.exists():
        old = root / f".ckpt_{iteration:04d}.old{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    _fsync_dir(root)
    atomic_write_text(root / LATEST_FILE, json.dumps({"checkpoint": final.name, "iteration": iteration}))
    return final


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _read_json(path: Path, what: str) -> Any:
    """Parse a checkpoint JSON file; CheckpointError naming the file when it cannot."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{path}: {what} is not UTF-8 text; the file is corrupted") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read {what} ({exc.strerror or _one_line(exc)})") from None
    if not text.strip():
        raise CheckpointError(f"{path}: {what} is empty; the file is truncated")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {what} is not valid JSON ({_one_line(exc)}); the file is truncated or corrupted") from None


def _intact_checkpoints(root: Path) -> list:
    return sorted(p.name for p in root.glob("ckpt_*") if (p / MODEL_FILE).is_file() and (p / META_FILE).is_file())


def _follow_latest(root: Path) -> Path:
    latest = root / LATEST_FILE
    data = _read_json(latest, LATEST_FILE)
    name = data.get("checkpoint") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise CheckpointError(f"{latest}: expected {{\"checkpoint\": \"ckpt_NNNN\", ...}}, got {json.dumps(data)[:80]}; "
                              "the file is corrupted")
    d = root / name
    if not (d / MODEL_FILE).is_file() or not (d / META_FILE).is_file():
        what = "does not exist" if not d.exists() else f"lacks {MODEL_FILE if not (d / MODEL_FILE).is_file() else META_FILE}"
        others = _intact_checkpoints(root)
        hint = f"; intact checkpoints here: {', '.join(others)}" if others else "; no intact checkpoint is left here"
        raise CheckpointError(f"{latest}: points at checkpoint {name!r}, which {what}{hint}")
    return d


def resolve_checkpoint(path: Union[str, Path]) -> Path:
    """Accept a checkpoint dir, its model.safetensors, a checkpoints/ dir or a run dir."""
    p = Path(path)
    if p.is_file() and p.name == MODEL_FILE:
        p = p.parent
    for root in (p, p / "checkpoints"):
        if (root / LATEST_FILE).is_file():
            return _follow_latest(root)
    if (p / MODEL_FILE).is_file() and (p / META_FILE).is_file():
        return p
    raise CheckpointError(
        f"checkpoint {str(path)!r} not found; expected a ckpt_NNNN directory (with {MODEL_FILE} and {META_FILE}), "
        "its model.safetensors, or a run directory holding checkpoints/latest.json"
    )


def _load_tensors(path: Path, record: Optional[Dict[str, Any]]) -> Dict[str, torch.Tensor]:
    """Load a safetensors file, first checking the size and SHA-256 the checkpoint recorded."""
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; the checkpoint is incomplete")
    if isinstance(record, dict):
        size = path.stat().st_size
        if "bytes" in record and size != record["bytes"]:
            raise CheckpointError(f"{path}: {size} bytes but {META_FILE} recorded {record['bytes']}; "
                                  "the file is truncated or corrupted")
        if "sha256" in record:
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    h.update(chunk)
            if h.hexdigest() != record["sha256"]:
                raise CheckpointError(f"{path}: content does not match the SHA-256 recorded in {META_FILE}; "
                                      "the file is corrupted")
    try:
        return load_file(str(path))
    except SafetensorError as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({_one_line(exc)}); "
                              "the file is truncated or corrupted") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or _one_line(exc)})") from None


def load_checkpoint(path: Union[str, Path]) -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor], Dict[str, Any]]:
    """Return (model tensors, trainer-state tensors, metadata) of a checkpoint.

    Raises ``CheckpointError`` (one line naming the file) when anything is missing,
    truncated or corrupted.
    """
    d = resolve_checkpoint(path)
    meta = _read_json(d / META_FILE, META_FILE)
    if not isinstance(meta, dict):
        raise CheckpointError(f"{d / META_FILE}: expected a JSON object, got {type(meta).__name__}; the file is corrupted")
    files = meta.get("files") if isinstance(meta.get("files"), dict) else {}
    model = _load_tensors(d / MODEL_FILE, files.get(MODEL_FILE))
    state = _load_tensors(d / STATE_FILE, files.get(STATE_FILE)) if (d / STATE_FILE).is_file() or STATE_FILE in files else {}
    meta["path"] = str(d)
    return model, state, meta


def checkpoint_field(meta: Dict[str, Any], key: str, kind: type = object) -> Any:
    """``meta[key]`` of a loaded checkpoint; CheckpointError naming the file when missing or mistyped."""
    where = Path(meta.get("path", "checkpoint")) / META_FILE
    if key not in meta:
        raise CheckpointError(f"{where}: has no {key!r} entry; the file is corrupted or was not written by this trainer")
    value = meta[key]
    if kind is not object and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise CheckpointError(f"{where}: {key}={json.dumps(value)[:60]} is not a {kind.__name__}; the file is corrupted")
    return value


def restore_trainer_state(optimizer: Optional[torch.optim.Optimizer], tensors: Dict[str, torch.Tensor],
                          meta: Dict[str, Any], device: Union[str, torch.device] = "cpu") -> None:
    """Load the optimizer state and the RNG states of a checkpoint.

    The optimizer's ``load_state_dict`` puts each moment on its parameter's device and
    keeps Adam's ``step`` counters where the optimizer wants them (CPU unless fused or
    capturable), so the tensors are passed as loaded; ``device`` is accepted for
    callers that name one. A state that does not fit (missing entries, wrong shapes)
    is a ``CheckpointError`` naming the checkpoint's ``trainer_state.json``.
    """
    where = Path(meta.get("path", "checkpoint")) / META_FILE
    try:
        if optimizer is not None:
            optimizer_from_flat(optimizer, {k: v for k, v in tensors.items() if k.startswith("optim.")},
                                checkpoint_field(meta, "optimizer", dict))
        set_rng_state(tensors, checkpoint_field(meta, "rng", dict))
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
        raise CheckpointError(f"{where}: the optimizer or RNG state does not fit this trainer "
                              f"({type(exc).__name__}: {_one_line(exc)[:200]}); the checkpoint is corrupted") from None


def missing_pointer(ckpt_root: Union[str, Path]) -> None:
    """Raise ``CheckpointError`` when ``ckpt_root`` holds checkpoints but no ``latest.json``.

    Resume would otherwise start over and overwrite them; the message says how to point
    ``latest.json`` at the newest intact one.
    """
    root = Path(ckpt_root)
    if not root.is_dir() or (root / LATEST_FILE).is_file():
        return
    intact = _intact_checkpoints(root)
    if intact:
        raise CheckpointError(f"{root / LATEST_FILE}: missing, but {root} holds {', '.join(intact)}; expected "
                              f"{LATEST_FILE} to name one (e.g. {{\"checkpoint\": \"{intact[-1]}\"}}) to resume it, "
                              "or --fresh to start over")
