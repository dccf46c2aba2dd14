"""Object boxes and masks from the semantic sensor, as COCO instance annotations.

Every furniture object whose pixels cover at least ``min_pixels`` gets one annotation:
its tight box ``[x, y, width, height]`` (pixels, top-left origin, as COCO), its area in
pixels and its mask as COCO's uncompressed run-length encoding (column-major runs,
starting with a run of zeros), which ``pycocotools.mask.frPyObjects`` reads.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from ..scene.catalogue import CATEGORIES
from .views import CATEGORY_ID


def rle_encode(mask: np.ndarray) -> Dict[str, list]:
    """COCO uncompressed RLE of a binary (H, W) mask."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs  # counts always begin with the zeros run
    return {"counts": [int(r) for r in runs], "size": [int(mask.shape[0]), int(mask.shape[1])]}


def rle_decode(rle: Dict[str, list]) -> np.ndarray:
    """Inverse of ``rle_encode``."""
    h, w = rle["size"]
    flat = np.zeros(h * w, dtype=bool)
    pos, val = 0, False
    for n in rle["counts"]:
        flat[pos:pos + n] = val
        pos += n
        val = not val
    return flat.reshape((w, h)).T


def instance_annotations(scene, instance: np.ndarray, min_pixels: int = 4) -> List[dict]:
    """COCO annotations (without ``id``/``image_id``) of the furniture in an instance map."""
    out = []
    ids, counts = np.unique(instance[instance >= 0], return_counts=True)
    for oid, n in zip(ids.tolist(), counts.tolist()):
        obj = scene.objects[oid]
        if obj.category not in CATEGORIES or n < min_pixels:
            continue
        mask = instance == oid
        rows, cols = np.nonzero(mask)
        x0, y0 = int(cols.min()), int(rows.min())
        w, h = int(cols.max()) - x0 + 1, int(rows.max()) - y0 + 1
        out.append({"category_id": CATEGORY_ID[obj.category], "bbox": [float(x0), float(y0), float(w), float(h)],
                    "area": float(n), "iscrowd": 0, "segmentation": rle_encode(mask), "object_id": int(oid)})
    return out
