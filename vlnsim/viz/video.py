"""Rollout videos: MP4 through imageio-ffmpeg (H.264), optional GIF, written atomically.

Frames stream into a temporary file beside the target and are renamed over it only when
the video is complete, so an interrupted rollout never leaves a truncated MP4 behind.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np

from .composite import metrics_frame

PathLike = Union[str, os.PathLike]
# H.264 with yuv420p needs even sizes and encodes best at multiples of 16; frames are
# padded (not resized) so text stays sharp.
MACRO_BLOCK = 16


def _pad_to(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    h, w = frame.shape[:2]
    if (h, w) == (height, width):
        return frame
    out = np.zeros((height, width, 3), dtype=np.uint8)
    if h > height or w > width:
        from PIL import Image

        scale = min(height / h, width / w)
        nh, nw = max(1, int(h * scale)), max(1, int(w * scale))
        frame = np.asarray(Image.fromarray(frame).resize((nw, nh), Image.BILINEAR))
        h, w = nh, nw
    out[:h, :w] = frame
    return out


def _as_rgb8(frame: np.ndarray) -> np.ndarray:
    arr = np.asarray(frame)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"video frame has shape {arr.shape}; expected (H, W, 3) or (H, W, 4)")
    if arr.dtype != np.uint8:
        raise ValueError(f"video frame has dtype {arr.dtype}; expected uint8")
    return np.ascontiguousarray(arr[..., :3])


class VideoWriter:
    """Append frames, then ``close()`` publishes ``path`` (MP4) and optionally a GIF.

    The first frame fixes the video size (rounded up to a multiple of 16 with black
    padding); later frames of another size are fitted into it. Use as a context
    manager: on an exception nothing is published and the temporary file is removed.
    """

    def __init__(self, path: PathLike, fps: float = 4.0, gif_path: Optional[PathLike] = None, quality: int = 7):
        if not fps > 0:
            raise ValueError(f"fps={fps!r}; expected a positive number")
        self.path = Path(path)
        self.gif_path = Path(gif_path) if gif_path is not None else None
        self.fps = float(fps)
        self.quality = quality
        self.size: Optional[tuple] = None
        self.num_frames = 0
        self._writer = None
        self._tmp: Optional[str] = None
        self._gif_frames: List[np.ndarray] = []

    def append(self, frame: np.ndarray) -> None:
        """Add one (H, W, 3) uint8 frame."""
        frame = _as_rgb8(frame)
        if self._writer is None:
            self._open(frame.shape[0], frame.shape[1])
        frame = _pad_to(frame, *self.size)
        self._writer.append_data(frame)
        if self.gif_path is not None:
            self._gif_frames.append(frame)
        self.num_frames += 1

    def append_metrics(self, metrics: Mapping[str, float], title: str = "Episode metrics", subtitle: str = "", hold_s: float = 2.0) -> None:
        """Add a summary card listing ``metrics``, held for ``hold_s`` seconds."""
        if self.size is None:
            raise ValueError("append_metrics() before any frame: the video size is not known yet")
        card = metrics_frame(metrics, self.size, title=title, subtitle=subtitle)
        for _ in range(max(1, int(round(hold_s * self.fps)))):
            self.append(card)

    def _open(self, h: int, w: int) -> None:
        import imageio.v2 as imageio

        self.size = (-(-h // MACRO_BLOCK) * MACRO_BLOCK, -(-w // MACRO_BLOCK) * MACRO_BLOCK)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # ffmpeg picks the container from the extension, so the temp name keeps it.
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=self.path.suffix or ".mp4", dir=self.path.parent)
        os.close(fd)
        self._writer = imageio.get_writer(
            self._tmp, format="FFMPEG", mode="I", fps=self.fps, codec="libx264", quality=self.quality,
            pixelformat="yuv420p", macro_block_size=MACRO_BLOCK, ffmpeg_log_level="error",
        )

    def close(self) -> Path:
        """Finish encoding and atomically publish the MP4 (and GIF); returns the MP4 path."""
        if self._writer is None:
            raise ValueError(f"no frames were written to {self.path}; a video needs at least one frame")
        self._writer.close()
        self._writer = None
        if self.gif_path is not None:
            write_gif(self.gif_path, self._gif_frames, fps=self.fps)
            self._gif_frames = []
        os.replace(self._tmp, self.path)
        self._tmp = None
        return self.path

    def abort(self) -> None:
        """Drop everything written so far."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            self._tmp = None
        self._gif_frames = []

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_gif(path: PathLike, frames: Sequence[np.ndarray], fps: float = 4.0) -> Path:
    """Write an animated, looping GIF atomically."""
    from PIL import Image

    if not frames:
        raise ValueError(f"no frames for {path}; a GIF needs at least one frame")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(_as_rgb8(f)) for f in frames]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".gif", dir=path.parent)
    os.close(fd)
    try:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=int(round(1000 / fps)), loop=0)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_video(
    path: PathLike,
    frames: Iterable[np.ndarray],
    fps: float = 4.0,
    gif_path: Optional[PathLike] = None,
    final_metrics: Optional[Mapping[str, float]] = None,
    title: str = "Episode metrics",
    subtitle: str = "",
) -> Path:
    """Write ``frames`` as an MP4 (and optional GIF), ending on a metrics card if given."""
    with VideoWriter(path, fps=fps, gif_path=gif_path) as writer:
        for f in frames:
            writer.append(f)
        if final_metrics is not None:
            writer.append_metrics(final_metrics, title=title, subtitle=subtitle)
    return Path(path)


def read_video(path: PathLike) -> np.ndarray:
    """Decode a video back into an (N, H, W, 3) uint8 array (for checks and tests)."""
    import imageio.v2 as imageio

    reader = imageio.get_reader(os.fspath(path), format="FFMPEG")
    try:
        return np.stack([np.asarray(f) for f in reader])
    finally:
        reader.close()
