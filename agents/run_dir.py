"""Run directories of ``vlnsim train``: checks before anything is written, ``--fresh``, and
what ``--resume`` may change.

* ``check_data(cfg)``: the data root, the training split and the evaluation split exist
  (checked before the run directory is created, so a typo leaves nothing behind).
* ``prepare_run_dir(cfg, resume, fresh)``: a directory that already holds a run is
  refused unless ``--resume`` (continue it) or ``--fresh`` (delete the run's outputs).
* ``resume_changes(saved, new)``: on ``--resume`` a changed architecture (``policy.*``)
  or dataset (``env.data_root/dataset/version/split``, ``seed``) is refused; changed
  hyper-parameters are applied and listed in a warning (``agents.trainers.il`` applies
  them to the restored optimizer).
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

from vlnsim.errors import ConfigError

# What a trainer writes into its run directory (``--fresh`` deletes exactly these).
RUN_OUTPUTS = ("checkpoints", "tb", "buffer", "tiny_clip", "train_history.json", "eval")
# Dotted keys whose change on --resume is refused (prefix match).
FROZEN_ON_RESUME = ("policy", "env.data_root", "env.dataset", "env.version", "env.split", "env.width", "env.height",
                    "env.hfov", "env.rgb", "env.depth", "env.max_instruction_length", "seed", "trainer.type")


def check_data(cfg) -> None:
    """Raise ``ConfigError`` when the data root or a split the run needs is missing."""
    from vlnsim.episodes.io import available_splits, split_path

    custom = getattr(getattr(cfg, "trainer", None), "check_data", None)
    if callable(custom):  # trainers with their own data (discrete R2R: agents.discrete.trainer)
        return custom()

    env = dict(cfg.env)
    root = Path(env.get("data_root", "data"))
    dataset, version = env.get("dataset", "procgen_r2r"), env.get("version", "v1")
    if not root.is_dir():
        raise ConfigError(f"env.data_root {str(root)!r} is not a directory; expected a data root holding "
                          "datasets/ (create one with `vlnsim generate --data-root DIR`)")
    splits = [env.get("split", "train")]
    ev = getattr(cfg, "eval", None)
    if ev is not None and getattr(ev, "split", None):
        splits.append(ev.split)
    for split in splits:
        path = split_path(root, dataset, split, version)
        if not path.is_file():
            have = available_splits(root, dataset, version)
            raise ConfigError(f"split {split!r} of dataset {dataset!r} not found at {path}; "
                              f"available splits: {have or 'none'}")


def _has_run(run_dir: Path) -> bool:
    return run_dir.is_dir() and any((run_dir / name).exists() for name in RUN_OUTPUTS)


def prepare_run_dir(cfg, resume: bool = False, fresh: bool = False, is_main: bool = True) -> None:
    """Refuse to mix runs: an existing run needs ``--resume`` or ``--fresh``; check resume changes.

    Every rank of a distributed run calls it (so they refuse together); only the main
    rank (``is_main``) deletes for ``--fresh`` and prints warnings.
    """
    run_dir = Path(cfg.run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"run_dir {str(run_dir)!r} is a file; expected a directory (or a path that does not exist)")
    if fresh:
        if not is_main:
            return
        for name in RUN_OUTPUTS:
            p = run_dir / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        return
    if not _has_run(run_dir):
        return
    latest = run_dir / "checkpoints" / "latest.json"
    if not resume:
        raise ConfigError(f"run_dir {str(run_dir)!r} already holds a run; expected --resume to continue it, "
                          "--fresh to delete it and start over, or another --run-dir")
    if latest.is_file():
        saved = _saved_config(run_dir)
        if saved is not None:
            refused, changed = resume_changes(saved, cfg.to_dict())
            if refused:
                k, old, new = refused[0]
                more = f" (and {len(refused) - 1} more: {[r[0] for r in refused[1:]]})" if len(refused) > 1 else ""
                raise ConfigError(f"--resume: {k} changed from {old!r} to {new!r}{more}; the architecture and the "
                                  "dataset of a run cannot change (use --fresh or another --run-dir)")
            if changed and is_main:
                desc = ", ".join(f"{k}: {old!r} -> {new!r}" for k, old, new in changed)
                print(f"vlnsim train: warning: --resume applies changed settings: {desc}", file=sys.stderr)


def remove_unfinished_run(run_dir: Path) -> None:
    """Delete a run directory this command created when it holds no checkpoint yet."""
    if run_dir.is_dir() and not (run_dir / "checkpoints" / "latest.json").is_file():
        shutil.rmtree(run_dir, ignore_errors=True)


def _saved_config(run_dir: Path):
    """The config recorded in the latest checkpoint's ``trainer_state.json`` (None if unreadable:
    the checkpoint loader reports that with its own message)."""
    try:
        latest = json.loads((run_dir / "checkpoints" / "latest.json").read_text())
        name = latest.get("checkpoint") or latest.get("path") or latest.get("name")
        meta = json.loads((run_dir / "checkpoints" / Path(str(name)).name / "trainer_state.json").read_text())
        return meta.get("config")
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def flatten(d: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """``{"a": {"b": 1}} -> {"a.b": 1}`` (lists stay values)."""
    out: Dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def resume_changes(saved: Mapping[str, Any], new: Mapping[str, Any]) -> Tuple[List[Tuple[str, Any, Any]], List[Tuple[str, Any, Any]]]:
    """``(refused, applied)``: changed keys ``(key, old, new)`` split by ``FROZEN_ON_RESUME``.

    ``run_dir`` and ``device`` are not compared (moving a run or its device is allowed).
    """
    a, b = flatten(saved), flatten(new)
    refused, applied = [], []
    for key in sorted(set(a) | set(b)):
        if key in ("run_dir", "device") or key.startswith("env.") and key.split(".")[1] in ("scene_cache_size",):
            continue
        if key not in a:  # a field added to the config since the checkpoint was written: its default applies
            continue
        old, cur = a.get(key), b.get(key)
        if old == cur or (key == "env.split" and old in (None, "train") and cur in (None, "train")):
            continue
        frozen = any(key == f or key.startswith(f + ".") for f in FROZEN_ON_RESUME)
        (refused if frozen else applied).append((key, old, cur))
    return refused, applied
