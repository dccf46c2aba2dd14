"""Learning curves: scalars from TensorBoard event files, drawn as standalone SVG charts.

``read_scalars`` uses the ``tensorboard`` package's event reader (no TensorFlow, no
server). ``line_chart_svg`` draws one chart (one tag, one series per run) as plain SVG
text, so the report needs no plotting library and nothing is fetched at view time.
"""
from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

Series = List[Tuple[int, float]]  # (global step, value)

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
# tags grouped by prefix, shown in this order (validation first: it is what people look for)
GROUP_ORDER = ("eval", "val", "losses", "loss", "charts", "train", "rollout")


def read_scalars(event_files: Sequence[Path]) -> Dict[str, Series]:
    """All scalar tags of a run's event files: ``{tag: [(step, value), ...]}`` sorted by step.

    When several files (a resumed run) log the same step, the later file wins.
    """
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util

    merged: Dict[str, Dict[int, float]] = {}
    for f in sorted(event_files, key=lambda p: p.name):
        for event in EventFileLoader(str(f)).Load():
            if not event.HasField("summary"):
                continue
            for v in event.summary.value:
                if v.HasField("simple_value"):
                    val = float(v.simple_value)
                elif v.HasField("tensor") and v.metadata.plugin_data.plugin_name in ("scalars", ""):
                    arr = tensor_util.make_ndarray(v.tensor)
                    if arr.size != 1 or arr.dtype.kind not in "fiu":
                        continue
                    val = float(arr.reshape(-1)[0])
                else:
                    continue
                merged.setdefault(v.tag, {})[int(event.step)] = val
    return {tag: sorted(d.items()) for tag, d in sorted(merged.items())}


def group_of(tag: str) -> str:
    """The group a tag is shown under (its prefix before ``/``)."""
    return tag.split("/", 1)[0] if "/" in tag else "other"


def order_tags(tags) -> List[str]:
    """Tags sorted by group (``GROUP_ORDER`` first), SR and SPL first within a group, then by name."""
    def key(t: str):
        g = group_of(t)
        headline = t.rsplit("/", 1)[-1] not in ("sr", "spl")  # SR and SPL first in their group
        return (GROUP_ORDER.index(g) if g in GROUP_ORDER else len(GROUP_ORDER), g, headline, t)

    return sorted(tags, key=key)


def nice_ticks(lo: float, hi: float, n: int = 5) -> List[float]:
    """About ``n`` round tick values covering [lo, hi] (1, 2, 5 x 10^k steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    t = start
    while t <= hi + step * 1e-9:
        if t >= lo - step * 1e-9:
            ticks.append(round(t, 12))
        t += step
    return ticks or [lo]


def _fmt(v: float, step: float = 0.0) -> str:
    """A tick label with as many decimals as the tick spacing ``step`` needs."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 100000 or a < 1e-4:
        return f"{v:.2e}"
    if step > 0:
        decimals = max(0, -int(math.floor(math.log10(step) + 1e-9)))
        return f"{v:.{min(decimals, 6)}f}"
    return f"{v:.4g}"


def line_chart_svg(title: str, series: Dict[str, Series], width: int = 420, height: int = 240,
                   y_from_zero: bool = False) -> str:
    """An SVG document: one line per entry of ``series`` (legend = its key), x = step.

    ``y_from_zero``: the y axis starts at 0 (rates such as SR and SPL).
    """
    left, right, top, bottom = 56, 12, 28, 40
    pw, ph = width - left - right, height - top - bottom
    pts = [(s, v) for data in series.values() for s, v in data if math.isfinite(v)]
    xs = [p[0] for p in pts] or [0]
    ys = [p[1] for p in pts] or [0.0]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y_from_zero:
        y0 = min(y0, 0.0)
    if y1 == y0:
        pad = abs(y0) * 0.1 or 0.5
        y0, y1 = (y0 - pad if y0 - pad >= 0 or y0 < 0 else 0.0), y1 + pad
    yt = nice_ticks(y0, y1)
    ystep = yt[1] - yt[0] if len(yt) > 1 else 0.0
    y0, y1 = min(y0, yt[0]), max(y1, yt[-1])
    xt = [t for t in nice_ticks(x0, x1) if float(t).is_integer()] or [x0, x1]

    def X(s: float) -> float:
        return left + (s - x0) / (x1 - x0) * pw

    def Y(v: float) -> float:
        return top + (1 - (v - y0) / (y1 - y0)) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="#fff"/>',
           f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="13" font-weight="bold">{escape(title)}</text>']
    for t in yt:
        y = Y(t)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#444">{_fmt(t, ystep)}</text>')
    for t in xt:
        x = X(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#444"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle" fill="#444">{_fmt(t)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="#444">step</text>')
    for i, (name, data) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        good = [(s, v) for s, v in data if math.isfinite(v)]
        if len(good) > 1:
            d = " ".join(f"{X(s):.1f},{Y(v):.1f}" for s, v in good)
            out.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="1.6"/>')
        if len(good) <= 40:
            out.extend(f'<circle cx="{X(s):.1f}" cy="{Y(v):.1f}" r="2.6" fill="{color}"/>' for s, v in good)
        if len(series) > 1 or name:
            ly = top + 12 + 13 * i
            out.append(f'<rect x="{left + 8}" y="{ly - 8}" width="10" height="3" fill="{color}"/>')
            out.append(f'<text x="{left + 22}" y="{ly - 4}" fill="#222">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
