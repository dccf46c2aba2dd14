"""What a report is made of, found under the directories the user names.

``find_sources(paths)`` walks each directory and collects:

- evaluations: a ``metrics.json`` with an ``episodes.jsonl`` beside it (``vlnsim eval``);
- training runs: TensorBoard event files (``events.out.tfevents.*``); the run is the
  directory holding ``tb/`` (or the events' own directory);
- rollout videos: ``rollouts_<agent>.json`` files written by ``vlnsim render-rollout``,
  whose MP4s sit beside them.

Nothing here imports torch.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from vlnsim.errors import ConfigError

METRIC_KEYS = ("sr", "spl", "ndtw", "sdtw", "cls", "ne", "osr", "tl")
PROVENANCE_KEYS = ("checkpoint", "config", "dataset", "split", "seed")
# further run facts shown when present (metrics.json top level or its "provenance" dict)
EXTRA_PROVENANCE_KEYS = ("agent", "ablate", "data_root", "global_step", "git_commit", "created")
EVENTS_PREFIX = "events.out.tfevents."


def slugify(text: str) -> str:
    """A file-name-safe form of ``text`` (letters, digits, ``_ . -``)."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_.")
    return s or "x"


@dataclass
class EvalRun:
    """One ``vlnsim eval`` output directory.

    Attributes:
        name: display name (the directory name, made unique among the report's runs).
        path: the directory.
        metrics: aggregate metrics (``sr``, ``spl`` ... ``episodes``).
        provenance: checkpoint, config, dataset, split, seed (and any extras) when recorded.
        episodes: the ``episodes.jsonl`` records, in file order.
    """

    name: str
    path: Path
    metrics: Dict[str, float]
    provenance: Dict[str, Any]
    episodes: List[Dict[str, Any]]
    slug: str = ""


@dataclass
class TrainRun:
    """A training run directory with its TensorBoard event files."""

    name: str
    path: Path
    event_files: List[Path]
    slug: str = ""


@dataclass
class Rollout:
    """One rendered rollout video (``vlnsim render-rollout``)."""

    agent: str  # the agent name in rollouts_<agent>.json
    group: str  # the directory the videos were written to (e.g. videos/cma -> "cma")
    episode_id: str
    split: Optional[str]
    video: Path
    metrics: Dict[str, float] = field(default_factory=dict)


@dataclass
class Sources:
    """Everything found: evaluations, training runs and rollout videos."""

    evals: List[EvalRun] = field(default_factory=list)
    runs: List[TrainRun] = field(default_factory=list)
    rollouts: List[Rollout] = field(default_factory=list)


def read_eval(path: Path, name: Optional[str] = None) -> EvalRun:
    """Load one evaluation directory (``metrics.json`` + ``episodes.jsonl``)."""
    path = Path(path)
    mfile, efile = path / "metrics.json", path / "episodes.jsonl"
    try:
        metrics = json.loads(mfile.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{mfile}: cannot read the evaluation metrics ({exc}); expected JSON from `vlnsim eval`") from None
    if not isinstance(metrics, dict):
        raise ConfigError(f"{mfile}: expected a JSON object of metrics, got {type(metrics).__name__}")
    prov: Dict[str, Any] = {k: metrics[k] for k in PROVENANCE_KEYS + EXTRA_PROVENANCE_KEYS if k in metrics}
    if isinstance(metrics.get("provenance"), dict):
        prov.update(metrics["provenance"])
    episodes: List[Dict[str, Any]] = []
    if efile.is_file():
        for i, line in enumerate(efile.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{efile}: line {i} is not JSON ({exc.msg}); expected one episode record per line") from None
            if not isinstance(rec, dict) or "episode_id" not in rec:
                raise ConfigError(f"{efile}: line {i} has no 'episode_id'; expected a `vlnsim eval` episode record")
            episodes.append(rec)
    numbers = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return EvalRun(name or path.name, path, numbers, prov, episodes)


def _rollouts(file: Path) -> List[Rollout]:
    try:
        records = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []
    agent = file.stem[len("rollouts_"):]
    out = []
    for r in records if isinstance(records, list) else []:
        if not isinstance(r, dict) or "video" not in r or "episode_id" not in r:
            continue
        video = file.parent / Path(str(r["video"])).name  # paths in the file may be relative to another cwd
        if not video.is_file():
            continue
        m = re.match(r"(.+?)_ep", video.name)
        out.append(Rollout(agent, file.parent.name, str(r["episode_id"]), m.group(1) if m else None, video,
                           {k: float(v) for k, v in (r.get("metrics") or {}).items() if isinstance(v, (int, float))}))
    return out


def _walk(root: Path) -> Iterable[Path]:
    for d, dirs, files in os.walk(root):
        dirs.sort()
        # training buffers and caches hold thousands of files and nothing for the report
        dirs[:] = [x for x in dirs if x not in ("buffer", "feature_cache", "tiny_clip", "__pycache__")]
        for f in sorted(files):
            yield Path(d) / f


def _unique(names: List[str], paths: List[Path]) -> List[str]:
    """Directory names, with the parent's name prefixed where two runs share one."""
    out = list(names)
    for i, n in enumerate(names):
        if names.count(n) > 1:
            out[i] = f"{paths[i].parent.name}/{n}"
    seen: Dict[str, int] = {}
    for i, n in enumerate(out):
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1:
            out[i] = f"{n} ({seen[n]})"
    return out


def find_sources(paths: Iterable[os.PathLike]) -> Sources:
    """Collect evaluations, training runs and rollouts under ``paths`` (files or directories)."""
    src = Sources()
    eval_dirs: List[Path] = []
    events: Dict[Path, List[Path]] = {}
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise ConfigError(f"report input {str(p)!r} does not exist; expected a run or evaluation directory")
        files = [p] if p.is_file() else list(_walk(p))
        for f in files:
            if f.name == "metrics.json" and (f.parent / "episodes.jsonl").is_file():
                if f.parent not in eval_dirs:
                    eval_dirs.append(f.parent)
            elif f.name.startswith(EVENTS_PREFIX):
                run = f.parent.parent if f.parent.name == "tb" else f.parent
                events.setdefault(run, [])
                if f not in events[run]:
                    events[run].append(f)
            elif f.name.startswith("rollouts_") and f.suffix == ".json":
                src.rollouts.extend(r for r in _rollouts(f) if r.video not in {x.video for x in src.rollouts})
    names = _unique([d.name for d in eval_dirs], eval_dirs)
    src.evals = [read_eval(d, n) for d, n in zip(eval_dirs, names)]
    runs = list(events)
    for r, n in zip(runs, _unique([r.name for r in runs], runs)):
        src.runs.append(TrainRun(n, r, sorted(events[r])))
    used: set = set()
    for item in [*src.evals, *src.runs]:
        s = slugify(item.name)
        while s in used:
            s += "_"
        used.add(s)
        item.slug = s
    return src


def videos_for(run: EvalRun, rollouts: List[Rollout]) -> Dict[str, Rollout]:
    """Rollout videos of ``run``'s agent, by episode id.

    A rollout belongs to an evaluation when its video directory or its agent name is
    the evaluation's directory name (``videos/cma`` <-> ``eval/cma``), or its agent is
    the evaluation's recorded ``agent``, and the split agrees when both are known.
    """
    keys = {run.path.name, run.name}
    if run.provenance.get("agent"):
        keys.add(str(run.provenance["agent"]))
    split = run.provenance.get("split")
    out: Dict[str, Rollout] = {}
    for r in rollouts:
        if (r.group in keys or r.agent in keys) and (split is None or r.split is None or r.split == split):
            out.setdefault(r.episode_id, r)
    return out
