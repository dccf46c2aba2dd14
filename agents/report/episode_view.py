"""What an episode page shows, computed from an ``episodes.jsonl`` record and its dataset episode.

Pure functions of plain data (no files, no HTML): instruction words with attention
weights, per-step actions and their runs, the metric rows, the browser row fields.
"""
from __future__ import annotations

import math
from pathlib import PurePosixPath
from typing import Any, Dict, List, Optional, Sequence, Tuple

ACTION_NAMES = ("STOP", "FORWARD", "LEFT", "RIGHT")  # vlnsim.Action codes 0..3
EPISODE_METRICS = (  # key in info["metrics"], label
    ("spl", "SPL"), ("ne", "NE (m)"), ("oracle_success", "OSR"), ("tl", "TL (m)"),
    ("ndtw", "nDTW"), ("sdtw", "SDTW"), ("cls", "CLS"),
)


def fmt(v: Any, digits: int = 3) -> str:
    """A metric value for display ("—" when missing or not finite)."""
    if v is None or isinstance(v, bool):
        return "—" if v is None else str(int(v))
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "—"
    return f"{x:.{digits}f}"


def sort_value(v: Any) -> str:
    """A ``data-sort`` value: the number, or empty (sorts last) when missing."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    return repr(x) if math.isfinite(x) else ""


def house_of(scene_id: str) -> str:
    """The house (scene file stem) of a scene id: ``procgen/house_00002/house_00002.glb`` -> ``house_00002``."""
    name = PurePosixPath(str(scene_id)).name
    for suffix in (".glb", ".gltf", ".obj", ".ply", ".basis"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name or "?"


def action_name(code: Any) -> str:
    """``STOP``/``FORWARD``/``LEFT``/``RIGHT`` for codes 0..3, else the code."""
    try:
        i = int(code)
    except (TypeError, ValueError):
        return str(code)
    return ACTION_NAMES[i] if 0 <= i < len(ACTION_NAMES) else str(code)


def action_runs(actions: Sequence[int]) -> List[Tuple[Dict[str, Any], int]]:
    """Consecutive equal actions collapsed: ``[({"code", "name"}, count), ...]``."""
    runs: List[Tuple[Dict[str, Any], int]] = []
    for a in actions:
        if runs and runs[-1][0]["code"] == a:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append(({"code": a, "name": action_name(a)}, 1))
    return runs


def attention_summary(record: Dict[str, Any], num_tokens: int) -> Tuple[Optional[List[float]], Optional[List[List[int]]]]:
    """(mean weight per token, top-3 token indices per step) from whatever the record holds.

    Accepts ``attention`` (one weight list per step) or ``attention_mean`` and
    ``attention_top``; returns (None, None) when the agent recorded no attention.
    """
    mean = record.get("attention_mean")
    top = record.get("attention_top")
    full = record.get("attention")
    if isinstance(full, list) and full and all(isinstance(s, list) for s in full):
        sums = [0.0] * num_tokens
        top = []
        for step in full:
            w = [float(x) for x in step[:num_tokens]]
            for i, x in enumerate(w):
                sums[i] += x
            top.append(sorted(range(len(w)), key=lambda i: -w[i])[:3])
        mean = [s / len(full) for s in sums]
    if not isinstance(mean, list) or not mean:
        mean = None
    else:
        mean = [float(x) for x in mean[:num_tokens]]
    if not isinstance(top, list):
        top = None
    return mean, top


def token_count(text: Optional[str]) -> int:
    """Number of model tokens of an instruction (what attention weights index)."""
    if not text:
        return 0
    from vlnsim.episodes import tokenize

    return len(tokenize(text))


def instruction_words(text: Optional[str], mean: Optional[List[float]], top_k: int = 8) -> List[Dict[str, Any]]:
    """Words to show, each ``{"text", "weight" (highlight strength 0..0.85, 0 = none), "raw"}``.

    With attention the words are the model's tokens (``vlnsim.episodes.tokenize``,
    whose index the weights use); at most ``top_k`` tokens that drew clearly more than
    a uniform share (1.5x) are highlighted, darker for more, so a near-uniform
    attention highlights nothing. Without attention: the instruction's own words.
    """
    if not text:
        return []
    if mean is None:
        return [{"text": w, "weight": 0.0, "raw": 0.0} for w in text.split()]
    from vlnsim.episodes import tokenize

    tokens = tokenize(text)
    raw = [mean[i] if i < len(mean) else 0.0 for i in range(len(tokens))]
    uniform = 1.0 / max(1, len(mean))
    top = max(raw) if raw else 0.0
    keep = set(sorted((i for i, r in enumerate(raw) if r >= 1.5 * uniform), key=lambda i: -raw[i])[:top_k])
    out = []
    for i, t in enumerate(tokens):
        w = 0.25 + 0.6 * (raw[i] - uniform) / (top - uniform) if i in keep and top > uniform else 0.0
        out.append({"text": t, "raw": raw[i], "weight": w})
    return out


def steps_table(record: Dict[str, Any], text: Optional[str], top: Optional[List[List[int]]]) -> List[Dict[str, Any]]:
    """One row per step: index, action name and (with attention) the most attended words."""
    tokens: List[str] = []
    if top is not None and text:
        from vlnsim.episodes import tokenize

        tokens = tokenize(text)
    rows = []
    for i, a in enumerate(record.get("actions") or []):
        attended = ""
        if top is not None and i < len(top) and isinstance(top[i], list):
            attended = " · ".join(tokens[j] for j in top[i] if isinstance(j, int) and 0 <= j < len(tokens))
        rows.append({"i": i + 1, "action": action_name(a), "attended": attended})
    return rows


def metric_rows(metrics: Dict[str, Any]) -> List[Tuple[str, str, str]]:
    """(key, label, shown value) rows of one episode's metrics, success first."""
    rows = [("success", "success", fmt(metrics.get("success"), 0))]
    rows += [(k, label, fmt(metrics.get(k))) for k, label in EPISODE_METRICS if k in metrics]
    known = {"success"} | {k for k, _ in EPISODE_METRICS}
    rows += [(k, k, fmt(v)) for k, v in sorted(metrics.items()) if k not in known]
    return rows


def is_success(metrics: Dict[str, Any]) -> int:
    """1 when the episode succeeded (``metrics["success"]`` >= 0.5), else 0."""
    try:
        return int(float(metrics.get("success", 0.0)) >= 0.5)
    except (TypeError, ValueError):
        return 0


def episode_sort_key(episode_id: str):
    """Numeric ids in numeric order, others after them alphabetically."""
    s = str(episode_id)
    return (0, int(s), "") if s.isdigit() else (1, 0, s)


def episode_sort_text(episode_id: str) -> str:
    """A text key that sorts numeric ids numerically (zero-padded) before the others."""
    s = str(episode_id)
    return f"0{int(s):015d}" if s.isdigit() else f"1{s}"
