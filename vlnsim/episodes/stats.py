"""Statistics of a VLN-CE dataset directory (``vlnsim dataset-stats``)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ..metrics import path_length
from .io import SPLITS, load, read_json
from .model import EpisodeDataset
from .vocab import tokenize

PathLike = Union[str, os.PathLike]
UNSEEN = ("val_unseen", "test")


def find_splits(path: PathLike) -> Dict[str, Path]:
    """``{split: file}`` of the ``{split}/{split}.json.gz`` files under a dataset version directory."""
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset directory not found: {root} (expected e.g. data/datasets/procgen_r2r/v1)")
    found = {p.name: p / f"{p.name}.json.gz" for p in sorted(root.iterdir()) if (p / f"{p.name}.json.gz").is_file()}
    if not found:
        raise FileNotFoundError(f"no {{split}}/{{split}}.json.gz files under {root}")
    return {s: found[s] for s in list(SPLITS) + sorted(set(found) - set(SPLITS)) if s in found}


def histogram(values: Sequence[float], bins: Sequence[float]) -> List[Dict[str, Any]]:
    """Counts per bin ``[lo, hi)``; the last bin is open-ended (``hi`` None)."""
    v = np.asarray(values, dtype=np.float64)
    edges = list(bins) + [np.inf]
    return [{"lo": float(lo), "hi": float(hi) if np.isfinite(hi) else None, "count": int(((v >= lo) & (v < hi)).sum())}
            for lo, hi in zip(edges[:-1], edges[1:])]


def names_landmark(episode) -> Optional[bool]:
    """Whether the instruction names an object, from the generator's annotation
    (``info.landmark_ids`` / ``info.stop_object_id``); None for data without it."""
    info = episode.info
    if "landmark_ids" in info or "stop_object_id" in info:
        return bool(info.get("landmark_ids")) or info.get("stop_object_id") is not None
    return None


def dataset_stats(path: PathLike) -> Dict[str, Any]:
    """Per-split counts, histograms, vocabulary size, landmark share and scene overlap."""
    files = find_splits(path)
    data: Dict[str, EpisodeDataset] = {s: load(f) for s, f in files.items()}
    out: Dict[str, Any] = {"path": str(path), "splits": {}}
    scenes = {s: set(d.scene_ids) for s, d in data.items()}
    all_lengths: List[float] = []
    all_words: List[int] = []
    for split, ds in data.items():
        lengths = [e.geodesic_distance if e.geodesic_distance is not None else path_length(e.reference_path)
                   for e in ds.episodes]
        words = [len(tokenize(e.instruction.instruction_text)) if e.instruction else 0 for e in ds.episodes]
        all_lengths += lengths
        all_words += words
        out["splits"][split] = {
            "episodes": len(ds),
            "paths": len({str(e.trajectory_id) for e in ds.episodes}),
            "scenes": len(scenes[split]),
            "mean_path_length": float(np.mean(lengths)) if lengths else 0.0,
            "mean_instruction_words": float(np.mean(words)) if words else 0.0,
            "landmark_share": _share([names_landmark(e) for e in ds.episodes]),
        }
    first = next(iter(data.values()))
    out["vocab_size"] = len(first.word_list)
    out["path_length_histogram"] = histogram(all_lengths, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20])
    out["instruction_length_histogram"] = histogram(all_words, [0, 10, 20, 30, 40, 50, 60, 80, 100])
    overlap = {}
    names = list(data)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            overlap[f"{a}/{b}"] = sorted(scenes[a] & scenes[b])
    out["scene_overlap"] = overlap
    out["unseen_leak"] = sorted({sc for u in UNSEEN if u in scenes for s in scenes if s not in UNSEEN
                                 for sc in scenes[u] & scenes[s]}
                                | ({sc for sc in scenes.get("val_unseen", set()) & scenes.get("test", set())}))
    gen = Path(path) / "generation.json"
    if gen.is_file():
        out["generation"] = read_json(gen).get("config", {})
    out["tokenizer"] = (Path(path) / "tokenizer.json").is_file()
    return out


def _share(flags: List[Optional[bool]]) -> Optional[float]:
    known = [f for f in flags if f is not None]
    return float(np.mean(known)) if known else None


def format_stats(stats: Dict[str, Any]) -> str:
    """Human-readable text report with ASCII histograms."""
    lines = [f"dataset {stats['path']}", ""]
    lines.append(f"{'split':<12}{'episodes':>9}{'paths':>7}{'scenes':>8}{'path m':>8}{'words':>7}{'landmk':>8}")
    for split, s in stats["splits"].items():
        lines.append(f"{split:<12}{s['episodes']:>9}{s['paths']:>7}{s['scenes']:>8}{s['mean_path_length']:>8.2f}"
                     f"{s['mean_instruction_words']:>7.1f}{_pct(s['landmark_share']):>8}")
    lines += ["", f"vocabulary size: {stats['vocab_size']}   tokenizer.json: {'yes' if stats['tokenizer'] else 'no'}"]
    for title, key, unit in (("geodesic path length", "path_length_histogram", "m"),
                             ("instruction length", "instruction_length_histogram", "words")):
        hist = stats[key]
        peak = max([h["count"] for h in hist] + [1])
        lines += ["", f"{title} ({unit}):"]
        for h in hist:
            hi = "inf" if h["hi"] is None else f"{h['hi']:g}"
            lines.append(f"  [{h['lo']:>4g}, {hi:>4}) {h['count']:>6} {'#' * int(round(40 * h['count'] / peak))}")
    lines += ["", "scene overlap between splits:"]
    for pair, sc in stats["scene_overlap"].items():
        lines.append(f"  {pair:<24} {len(sc)} scenes")
    leak = stats["unseen_leak"]
    lines.append(f"unseen splits share no scene with other splits: {'yes' if not leak else 'NO: ' + ', '.join(leak)}")
    return "\n".join(lines)


def _pct(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:.0%}"
