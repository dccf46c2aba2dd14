"""Episode maps for the report: the scene's top-down map with reference path, agent path and goal.

The scene and the dataset episode (reference path, goal, instruction) come from the
data root the evaluation read; the agent's positions from ``episodes.jsonl``. Drawn
with ``vlnsim.viz.topdown`` (``render_topdown``, ``draw_path``, ``draw_goal``,
``draw_agent``) in the colours of the env's own overlay (``envs.topdown_overlay``).
When the scene file is missing, the paths are drawn on a blank frame around them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from envs.topdown_overlay import AGENT, AGENT_PATH, GOAL, REFERENCE
from vlnsim.errors import VlnsimError
from vlnsim.viz.topdown import MapInfo, draw_agent, draw_goal, draw_path, render_topdown

START = AGENT


class EpisodeMaps:
    """Caches the datasets' episodes and the scenes' base maps of one data root.

    Args:
        data_root: the data root of the evaluated dataset (``data/``).
        meters_per_pixel: map resolution (0.03 m/px: a 15 m house is 500 px).
    """

    def __init__(self, data_root, meters_per_pixel: float = 0.03):
        self.data_root = Path(data_root)
        self.meters_per_pixel = float(meters_per_pixel)
        self._datasets: Dict[Tuple[str, str], Optional[Dict[str, Any]]] = {}
        self._maps: Dict[str, Optional[Tuple[np.ndarray, MapInfo]]] = {}
        self.problems: List[str] = []  # what could not be loaded, for the report's notes

    def split_file(self, dataset: str, split: str) -> Path:
        """``<data_root>/datasets/<dataset>/v1/<split>/<split>.json.gz``."""
        return self.data_root / "datasets" / str(dataset) / "v1" / str(split) / f"{split}.json.gz"

    def episodes(self, dataset: Optional[str], split: Optional[str]) -> Optional[Dict[str, Any]]:
        """``{episode_id: Episode}`` of a split, or None when its file is not there."""
        if not dataset or not split:
            return None
        key = (str(dataset), str(split))
        if key not in self._datasets:
            from vlnsim import episodes as ep_io

            f = self.split_file(*key)
            if f.is_file():
                ds = ep_io.load(f, require_instruction=False)
                self._datasets[key] = {str(e.episode_id): e for e in ds.episodes}
            else:
                self._datasets[key] = None
                self.problems.append(f"episode file {f} not found: no instructions or reference paths")
        return self._datasets[key]

    def base_map(self, scene_id: str) -> Optional[Tuple[np.ndarray, MapInfo]]:
        """(image, MapInfo) of a scene's top-down map, or None when its file is missing."""
        if scene_id not in self._maps:
            import envs
            import vlnsim
            from vlnsim.episodes import resolve_scene_path

            try:
                path = resolve_scene_path(str(self.data_root), scene_id, must_exist=True)
            except (FileNotFoundError, VlnsimError):
                self._maps[scene_id] = None
                self.problems.append(f"scene {scene_id!r} not found under {self.data_root}/scene_datasets: maps show paths only")
                return None
            scene = vlnsim.load_scene(path)
            cfg = envs.EnvConfig()  # the env's body and grid cell, as in the evaluation
            sim = vlnsim.Simulator(scene, agent=cfg.agent, cell_size=cfg.cell_size)
            self._maps[scene_id] = render_topdown(sim.navgrid, scene, self.meters_per_pixel)
            sim.close()
        return self._maps[scene_id]

    def draw(self, record: Dict[str, Any], episode=None) -> np.ndarray:
        """The map of one evaluated episode (``record`` from ``episodes.jsonl``)."""
        path = [p for p in record.get("path") or [] if len(p) == 3]
        reference = list(episode.reference_path) if episode is not None else []
        goal = episode.goals[0].position if episode is not None and episode.goals else None
        base = self.base_map(str(record.get("scene_id", ""))) if record.get("scene_id") else None
        if base is None:
            img, info = _blank_map(path + reference + ([goal] if goal is not None else []), self.meters_per_pixel)
        else:
            img, info = base[0].copy(), base[1]
        px = max(1, int(round(0.05 / info.meters_per_pixel)))
        if len(reference) > 1:
            draw_path(img, reference, color=REFERENCE, info=info, thickness=2 * px)
        if len(path) > 1:
            draw_path(img, path, color=AGENT_PATH, info=info, thickness=2 * px)
        if goal is not None:
            draw_goal(img, goal, info, color=GOAL, radius_px=max(5, int(round(0.25 / info.meters_per_pixel))))
        start = path[0] if path else (episode.start_position if episode is not None else None)
        if start is not None:
            from vlnsim.geometry import yaw_from_quat

            heading = yaw_from_quat(episode.start_rotation) if episode is not None else 0.0
            draw_agent(img, start, heading, info, color=START, radius_px=max(4, int(round(0.15 / info.meters_per_pixel))))
        return img


def _blank_map(points: List, meters_per_pixel: float) -> Tuple[np.ndarray, MapInfo]:
    """A white frame around ``points`` with a 1 m margin (a 2 m square when there are none)."""
    pts = np.asarray([p for p in points if p is not None], dtype=np.float64).reshape(-1, 3)
    if len(pts) == 0:
        pts = np.zeros((1, 3))
    lo, hi = pts.min(axis=0) - 1.0, pts.max(axis=0) + 1.0
    info = MapInfo.from_bounds(lo, hi, meters_per_pixel)
    img = np.full((*info.shape, 3), 255, dtype=np.uint8)
    return img, info


def save_png(img: np.ndarray, path: Path, max_side: int = 520) -> Tuple[int, int]:
    """Write a map as a small palette PNG (maps have few colours); returns (width, height)."""
    import io

    from PIL import Image

    from vlnsim.io_utils import atomic_write_bytes

    pil = Image.fromarray(img)
    scale = max_side / max(pil.size)
    if scale < 1:
        pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))), Image.LANCZOS)
    pil = pil.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    pil.save(buf, format="PNG", optimize=True)
    atomic_write_bytes(path, buf.getvalue())
    return pil.size
