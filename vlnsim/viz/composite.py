"""Composite rollout frames: RGB, depth, top-down map, instruction, action and metrics.

Every frame of one episode has the same size (three square panels over a text band whose
height depends only on the instruction), so frames can go straight into an MP4. Text is
drawn with PIL's default font, so nothing has to be installed or downloaded.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PANEL_SIZE = 256
FONT_SIZE = 14
LINE_HEIGHT = 18
MARGIN = 8
MAX_INSTRUCTION_LINES = 8
BACKGROUND = (24, 24, 28)
TEXT = (235, 235, 235)
DIM_TEXT = (160, 160, 170)
HIGHLIGHT = np.array([255, 196, 0], dtype=np.float64)

# Anchors of a perceptually ordered map (dark blue -> teal -> yellow), interpolated
# linearly: near surfaces bright, far ones dark, so obstacles stand out.
_DEPTH_ANCHORS = np.array(
    [[253, 231, 37], [94, 201, 98], [33, 145, 140], [59, 82, 139], [68, 1, 84]], dtype=np.float64
)

Highlight = Union[Mapping[int, float], Sequence[float], Sequence[Tuple[int, float]], None]


def _font(size: int = FONT_SIZE) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def colorize_depth(depth: np.ndarray, max_depth: float = 10.0) -> np.ndarray:
    """Depth (H,W) or (H,W,1) in metres -> (H,W,3) uint8; misses (0) are black."""
    d = np.asarray(depth, dtype=np.float64)
    if d.ndim == 3:
        d = d[..., 0]
    x = np.clip(d / max(float(max_depth), 1e-6), 0.0, 1.0) * (len(_DEPTH_ANCHORS) - 1)
    grid = np.arange(len(_DEPTH_ANCHORS))
    rgb = np.stack([np.interp(x, grid, _DEPTH_ANCHORS[:, c]) for c in range(3)], axis=-1)
    rgb[d <= 0] = 0
    return rgb.astype(np.uint8)


def fit_panel(image: Optional[np.ndarray], size: int = PANEL_SIZE, label: str = "") -> np.ndarray:
    """Scale ``image`` to fit a ``size`` x ``size`` panel (aspect kept, letterboxed)."""
    panel = Image.new("RGB", (size, size), BACKGROUND)
    if image is not None:
        arr = np.asarray(image)
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=-1)
        arr = np.ascontiguousarray(arr[..., :3]).astype(np.uint8)
        h, w = arr.shape[:2]
        scale = size / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        # Sensor frames are tiny (64-128 px): nearest keeps pixels honest; maps are
        # large and look better smoothed.
        resample = Image.NEAREST if scale >= 1 else Image.BILINEAR
        img = Image.fromarray(arr).resize((nw, nh), resample)
        panel.paste(img, ((size - nw) // 2, (size - nh) // 2))
    if label:
        draw = ImageDraw.Draw(panel)
        font = _font(12)
        x0, y0, x1, y1 = draw.textbbox((4, 3), label, font=font)
        draw.rectangle((x0 - 2, y0 - 2, x1 + 2, y1 + 2), fill=(0, 0, 0))
        draw.text((4, 3), label, fill=TEXT, font=font)
    return np.asarray(panel)


def highlight_weights(highlight: Highlight, num_words: int, top_k: int = 3) -> Dict[int, float]:
    """Normalise a highlight spec to ``{word_index: weight in (0, 1]}`` for the top-k words.

    Accepts a mapping index -> weight, a list of (index, weight) pairs, or one weight
    per word (an attention distribution). Weights are scaled by the largest one.
    """
    if highlight is None:
        return {}
    if isinstance(highlight, Mapping):
        pairs = [(int(k), float(v)) for k, v in highlight.items()]
    else:
        items = list(highlight)
        if items and all(isinstance(it, (tuple, list)) and len(it) == 2 for it in items):
            pairs = [(int(i), float(w)) for i, w in items]
        else:
            pairs = [(i, float(w)) for i, w in enumerate(np.asarray(items, dtype=np.float64).reshape(-1))]
    pairs = [(i, w) for i, w in pairs if 0 <= i < num_words and np.isfinite(w) and w > 0]
    if not pairs:
        return {}
    pairs.sort(key=lambda p: -p[1])
    pairs = pairs[:top_k]
    top = pairs[0][1]
    return {i: w / top for i, w in pairs}


def wrap_words(words: Sequence[str], width: int, font=None) -> List[List[int]]:
    """Greedy line wrapping; returns the word indices of each line."""
    font = font or _font()
    space = font.getlength(" ")
    lines: List[List[int]] = []
    line: List[int] = []
    used = 0.0
    for i, w in enumerate(words):
        wl = font.getlength(w)
        if line and used + space + wl > width:
            lines.append(line)
            line, used = [], 0.0
        used += (space if line else 0.0) + wl
        line.append(i)
    if line:
        lines.append(line)
    return lines


def _text_band(
    width: int,
    words: Sequence[str],
    weights: Dict[int, float],
    status: str,
    metrics_line: str,
) -> np.ndarray:
    font = _font()
    lines = wrap_words(words, width - 2 * MARGIN, font)
    if len(lines) > MAX_INSTRUCTION_LINES:
        lines = lines[:MAX_INSTRUCTION_LINES]
    n_lines = max(1, len(lines)) + 2
    height = 2 * MARGIN + n_lines * LINE_HEIGHT
    height = -(-height // 16) * 16  # video codecs want multiples of 16
    band = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(band)
    space = font.getlength(" ")
    y = MARGIN
    for line in lines:
        x = float(MARGIN)
        for i in line:
            wl = font.getlength(words[i])
            if i in weights:
                colour = tuple(int(c) for c in np.asarray(BACKGROUND) + (HIGHLIGHT - BACKGROUND) * (0.35 + 0.65 * weights[i]))
                draw.rectangle((x - 1, y - 1, x + wl + 1, y + LINE_HEIGHT - 2), fill=colour)
                draw.text((x, y), words[i], fill=(0, 0, 0), font=font)
            else:
                draw.text((x, y), words[i], fill=TEXT, font=font)
            x += wl + space
        y += LINE_HEIGHT
    if not lines:
        draw.text((MARGIN, y), "(no instruction)", fill=DIM_TEXT, font=font)
        y += LINE_HEIGHT
    draw.text((MARGIN, y), status, fill=TEXT, font=font)
    draw.text((MARGIN, y + LINE_HEIGHT), metrics_line, fill=DIM_TEXT, font=font)
    return np.asarray(band)


_METRIC_LABELS = [
    ("success", "SR"), ("spl", "SPL"), ("ne", "NE"), ("oracle_success", "OSR"), ("tl", "TL"),
    ("ndtw", "nDTW"), ("sdtw", "SDTW"), ("cls", "CLS"), ("distance_to_goal", "dist"),
    ("path_length", "TL"),
]


def format_metrics(metrics: Optional[Mapping[str, float]]) -> str:
    """One line such as ``SR 1  SPL 0.93  NE 0.41 m ...`` (known keys first)."""
    if not metrics:
        return ""
    parts, seen = [], set()
    for key, label in _METRIC_LABELS:
        if key in metrics and label not in seen:
            seen.add(label)
            parts.append(f"{label} {_fmt(metrics[key])}" + (" m" if key in ("ne", "tl", "distance_to_goal", "path_length") else ""))
    for key, val in metrics.items():
        if key not in dict(_METRIC_LABELS):
            parts.append(f"{key} {_fmt(val)}")
    return "  ".join(parts)


def _fmt(v) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{f:.0f}" if f.is_integer() and abs(f) < 1e6 else f"{f:.2f}"


def composite_frame(
    *,
    rgb: Optional[np.ndarray] = None,
    depth: Optional[np.ndarray] = None,
    topdown: Optional[np.ndarray] = None,
    instruction: Union[str, Sequence[str]] = "",
    highlight: Highlight = None,
    action: Optional[str] = None,
    step: Optional[int] = None,
    metrics: Optional[Mapping[str, float]] = None,
    max_depth: float = 10.0,
    panel_size: int = PANEL_SIZE,
    top_k: int = 3,
) -> np.ndarray:
    """Compose one (H, W, 3) uint8 frame: RGB | depth | map over the instruction band.

    Args:
        rgb, depth, topdown: panels (any may be None: the panel is left blank).
        instruction: the text, or its words (highlight indices refer to these words).
        highlight: attended words (see ``highlight_weights``); the top ``top_k`` are
            shaded by weight.
        action: name of the action taken to reach this frame (None on the first frame).
        step: step counter shown next to the action.
        metrics: running metrics shown on the last line.
    """
    words = instruction.split() if isinstance(instruction, str) else [str(w) for w in instruction]
    panels = [
        fit_panel(rgb, panel_size, "RGB"),
        fit_panel(None if depth is None else colorize_depth(depth, max_depth), panel_size, "Depth"),
        fit_panel(topdown, panel_size, "Map"),
    ]
    top = np.concatenate(panels, axis=1)
    status = f"step {step if step is not None else 0}   action {action or '-'}"
    band = _text_band(top.shape[1], words, highlight_weights(highlight, len(words), top_k), status, format_metrics(metrics))
    return np.ascontiguousarray(np.concatenate([top, band], axis=0))


def metrics_frame(
    metrics: Mapping[str, float],
    size: Tuple[int, int],
    title: str = "Episode metrics",
    subtitle: str = "",
) -> np.ndarray:
    """A (H, W, 3) uint8 summary card listing ``metrics``, e.g. the last video frame."""
    h, w = int(size[0]), int(size[1])
    img = Image.new("RGB", (w, h), BACKGROUND)
    draw = ImageDraw.Draw(img)
    big, small = _font(22), _font(16)
    y = 2 * MARGIN
    draw.text((2 * MARGIN, y), title, fill=TEXT, font=big)
    y += 34
    if subtitle:
        for line in wrap_words(subtitle.split(), w - 4 * MARGIN, small):
            draw.text((2 * MARGIN, y), " ".join(subtitle.split()[i] for i in line), fill=DIM_TEXT, font=small)
            y += 22
        y += 6
    labels = dict(_METRIC_LABELS)
    for key, val in metrics.items():
        if y + 22 > h:
            break
        draw.text((2 * MARGIN, y), f"{labels.get(key, key):<6}", fill=DIM_TEXT, font=small)
        unit = " m" if key in ("ne", "tl", "distance_to_goal", "path_length") else ""
        draw.text((2 * MARGIN + 120, y), _fmt(val) + unit, fill=TEXT, font=small)
        y += 22
    return np.asarray(img)
