"""COCO instances files (``instances_val2017.json``, ``instances_<split>.json`` of the corpus).

Schema (COCO object detection)::

    {"images": [{"id", "file_name", "width", "height"}],
     "annotations": [{"id", "image_id", "category_id", "bbox": [x, y, w, h], "area",
                      "iscrowd": 0 | 1, "segmentation": polygons | RLE}],
     "categories": [{"id", "name", "supercategory"}]}

Boxes are ``[x, y, width, height]`` in pixels from the top-left corner.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from vlnsim.errors import DatasetFormatError

from ._schema import PathLike, field, read_json
from .coco_captions import CocoImage, read_images

SCHEMA = "COCO instances"


@dataclass(frozen=True)
class CocoBox:
    """One object annotation."""

    ann_id: int
    image_id: int
    category_id: int
    bbox: Tuple[float, float, float, float]
    area: float
    iscrowd: int
    segmentation: object


@dataclass
class CocoInstances:
    images: List[CocoImage]
    boxes: Dict[int, List[CocoBox]]
    """image id -> its boxes."""
    categories: Dict[int, str]
    """category id -> name."""


def load_coco_instances(path: PathLike, image_root: Optional[PathLike] = None) -> CocoInstances:
    """Read a COCO instances file; ``image_root`` defaults to the file's directory."""
    path = Path(path)
    data = read_json(path, SCHEMA)
    root = Path(image_root) if image_root is not None else path.parent
    images = read_images(data, path, root, SCHEMA)
    cats = {}
    for i, c in enumerate(field(data, "categories", list, path, "top level", SCHEMA)):
        cats[field(c, "id", int, path, f"categories[{i}]", SCHEMA)] = field(c, "name", str, path, f"categories[{i}]", SCHEMA)
    boxes: Dict[int, List[CocoBox]] = {im.image_id: [] for im in images}
    for i, a in enumerate(field(data, "annotations", list, path, "top level", SCHEMA)):
        where = f"annotations[{i}]"
        iid = field(a, "image_id", int, path, where, SCHEMA)
        cid = field(a, "category_id", int, path, where, SCHEMA)
        bbox = field(a, "bbox", list, path, where, SCHEMA)
        if len(bbox) != 4 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox):
            raise DatasetFormatError(f"{path}: {where}.bbox is {bbox!r:.60}; expected [x, y, width, height] numbers")
        if iid not in boxes:
            raise DatasetFormatError(f"{path}: {where}.image_id {iid} is not in images; expected an id of the images list")
        if cid not in cats:
            raise DatasetFormatError(f"{path}: {where}.category_id {cid} is not in categories")
        boxes[iid].append(CocoBox(field(a, "id", int, path, where, SCHEMA), iid, cid, tuple(float(v) for v in bbox),
                                  float(field(a, "area", (int, float), path, where, SCHEMA)),
                                  int(field(a, "iscrowd", int, path, where, SCHEMA)), a.get("segmentation")))
    return CocoInstances(images, boxes, cats)
