"""Precomputed panorama features for the discrete setting (the HAMT/DUET layout).

``extract_features`` renders every included viewpoint's 36-view panorama
(``vlnsim.discrete.panorama``) and encodes each view with an image encoder, writing one
float32 (36, D) array per viewpoint into an HDF5 file keyed ``<scan>_<viewpoint>``;
file attributes record the encoder, view resolution and field of view.

Encoders (anything ``CLIPEncoder`` loads from a directory): a Hugging Face CLIP
(``config.json`` with ``model_type`` "clip", as ``build_tiny_clip`` writes) or a
``vlnsim pretrain`` output (``vlp_config.json``: its vision tower and image projection).
D = the projection dim (the pooled, projected image embedding). Other directory formats
are refused with a message naming what was found.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy as np

from vlnsim.errors import ConfigError


def load_image_encoder(directory: str) -> Tuple[Callable[[np.ndarray], np.ndarray], int, Dict[str, str]]:
    """(encode: uint8 (B, H, W, 3) -> float32 (B, D), image size, description) of an encoder directory."""
    import torch

    from agents.encoders.clip import CLIPEncoder

    path = Path(directory)
    if (path / "vlp_config.json").is_file():  # a `vlnsim pretrain` directory: its vision tower + projection
        kind = "vlp"
    else:
        cfg_file = path / "config.json"
        if not cfg_file.is_file():
            raise ConfigError(f"--encoder {directory!r}: no config.json or vlp_config.json; expected a Hugging Face "
                              "CLIP directory (save_pretrained output) or a `vlnsim pretrain` output directory")
        model_type = json.loads(cfg_file.read_text()).get("model_type", "")
        if model_type != "clip":
            raise ConfigError(f"--encoder {directory!r}: model_type {model_type!r} is not supported; expected a CLIP "
                              "directory (model_type 'clip') or a `vlnsim pretrain` output directory")
        kind = "clip"
    enc = CLIPEncoder(str(path))

    def encode(rgb: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return enc.image_features(torch.from_numpy(np.ascontiguousarray(rgb))).float().numpy()

    return encode, enc.image_size, {"encoder": str(path), "encoder_type": kind}


def viewpoints_of(data_root: str, dataset: Optional[str] = None, scans: Optional[Iterable[str]] = None) -> List[str]:
    """Scans to extract: ``scans``, else those named in ``datasets/<dataset>/R2R_*.json``, else every connectivity file."""
    if scans:
        return sorted(set(scans))
    if dataset:
        from vlnsim.episodes.r2r import load_r2r

        files = sorted((Path(data_root) / "datasets" / dataset).glob("R2R_*.json"))
        if not files:
            raise ConfigError(f"dataset {dataset!r}: no R2R_<split>.json under {Path(data_root) / 'datasets' / dataset}")
        return sorted({r.scan for f in files for r in load_r2r(f)})
    conn = sorted((Path(data_root) / "connectivity").glob("*_connectivity.json"))
    if not conn:
        raise ConfigError(f"no connectivity files under {Path(data_root) / 'connectivity'}; run "
                          "vlnsim generate --setting discrete first")
    return [p.name[: -len("_connectivity.json")] for p in conn]


def extract_features(encoder: str, out: str, data_root: str = "data", dataset: Optional[str] = None,
                     scans: Optional[Iterable[str]] = None, size: Optional[int] = None, hfov: float = 60.0,
                     scene_id_format: str = "procgen/{scan}/{scan}.glb", progress: bool = True) -> Dict[str, float]:
    """Write ``out`` (HDF5); returns counts and timing. ``size``: view resolution (default: the encoder's)."""
    import time

    import h5py
    from tqdm import tqdm

    from vlnsim.discrete.connectivity import connectivity_path, load_connectivity
    from vlnsim.discrete.panorama import panorama_sensors, render_panorama
    from vlnsim.io_utils import atomic_write
    from vlnsim.render.renderer import Renderer
    from vlnsim.scene.io import load_scene

    encode, image_size, desc = load_image_encoder(encoder)
    size = int(size or image_size)
    names = viewpoints_of(data_root, dataset, scans)
    t0 = time.perf_counter()
    count, dim = 0, 0
    graphs = [load_connectivity(connectivity_path(data_root, s), s) for s in names]
    total = sum(int(g.included.sum()) for g in graphs)
    bar = tqdm(total=total, desc="viewpoints", unit="vp", disable=not progress)
    with atomic_write(out, "wb") as fh:
        with h5py.File(fh, "w") as h5:
            for g in graphs:
                scene = load_scene(Path(data_root) / "scene_datasets" / scene_id_format.format(scan=g.scan))
                renderer = Renderer(scene)
                for i, vid in enumerate(g.ids):
                    if not g.included[i]:
                        continue
                    sensors = panorama_sensors(size, size, hfov, float(g.camera_height[i]))
                    feats = encode(render_panorama(renderer, g.positions[i], sensors)).astype(np.float32)
                    h5.create_dataset(f"{g.scan}_{vid}", data=feats)
                    dim = feats.shape[1]
                    count += 1
                    bar.update(1)
            h5.attrs.update({**desc, "size": size, "hfov": hfov, "views": 36, "dim": dim})
    bar.close()
    return {"viewpoints": count, "scans": len(graphs), "dim": dim, "seconds": time.perf_counter() - t0}
