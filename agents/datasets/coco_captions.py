"""COCO captions files (``captions_train2014.json``, ``captions_<split>.json`` of the corpus).

Schema (COCO 2014/2017 caption annotations)::

    {"images": [{"id": 391895, "file_name": "COCO_val2014_000000391895.jpg",
                 "width": 640, "height": 360, ...}],
     "annotations": [{"id": 1, "image_id": 391895, "caption": "A man with a red helmet ..."}]}

``info``/``licenses`` are optional. Extra image fields are kept in ``CocoImage.extra``
(the vlnsim corpus records ``depth_file``, ``semantic_file``, ``room``, ``house`` there).
An image's file is ``image_root / file_name``.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from vlnsim.errors import DatasetFormatError

from ._schema import PathLike, field, read_json

SCHEMA = "COCO captions"


@dataclass(frozen=True)
class CocoImage:
    """One image record of a COCO annotation file."""

    image_id: int
    file_name: str
    path: Path
    width: Optional[int] = None
    height: Optional[int] = None
    extra: Dict[str, object] = dc_field(default_factory=dict)


@dataclass
class CocoCaptions:
    """Images (file order) and their captions (annotation order)."""

    images: List[CocoImage]
    captions: Dict[int, List[str]]
    """image id -> captions."""
    caption_ids: Dict[int, List[int]]
    """image id -> annotation ids (parallel to ``captions``)."""

    def pairs(self) -> List[Tuple[int, str]]:
        """Every (image id, caption), images in file order."""
        return [(im.image_id, c) for im in self.images for c in self.captions.get(im.image_id, [])]


def read_images(data, path: PathLike, image_root: Path, schema: str) -> List[CocoImage]:
    """The ``images`` list of a COCO-style file (captions or instances)."""
    images = field(data, "images", list, path, "top level", schema)
    out, seen = [], set()
    for i, rec in enumerate(images):
        where = f"images[{i}]"
        iid = field(rec, "id", int, path, where, schema)
        name = field(rec, "file_name", str, path, where, schema)
        if iid in seen:
            raise DatasetFormatError(f"{path}: {where}.id {iid} appears twice; expected unique image ids ({schema} schema)")
        seen.add(iid)
        w = field(rec, "width", int, path, where, schema) if "width" in rec else None
        h = field(rec, "height", int, path, where, schema) if "height" in rec else None
        extra = {k: v for k, v in rec.items() if k not in ("id", "file_name", "width", "height")}
        out.append(CocoImage(iid, name, image_root / name, w, h, extra))
    return out


def load_coco_captions(path: PathLike, image_root: Optional[PathLike] = None) -> CocoCaptions:
    """Read a COCO captions file; ``image_root`` defaults to the file's directory.

    For a ``vlnsim make-corpus`` directory use ``corpus_paths(DIR, split)``.
    """
    path = Path(path)
    data = read_json(path, SCHEMA)
    root = Path(image_root) if image_root is not None else path.parent
    images = read_images(data, path, root, SCHEMA)
    known = {im.image_id for im in images}
    anns = field(data, "annotations", list, path, "top level", SCHEMA)
    caps: Dict[int, List[str]] = {im.image_id: [] for im in images}
    ids: Dict[int, List[int]] = {im.image_id: [] for im in images}
    for i, a in enumerate(anns):
        where = f"annotations[{i}]"
        iid = field(a, "image_id", int, path, where, SCHEMA)
        text = field(a, "caption", str, path, where, SCHEMA)
        aid = field(a, "id", int, path, where, SCHEMA)
        if iid not in known:
            raise DatasetFormatError(f"{path}: {where}.image_id {iid} is not in images; expected an id of the images list")
        caps[iid].append(text.strip())
        ids[iid].append(aid)
    return CocoCaptions(images, caps, ids)


def corpus_paths(corpus_dir: PathLike, split: str) -> Dict[str, Path]:
    """Annotation files and image root of one split of a ``vlnsim make-corpus`` directory."""
    d = Path(corpus_dir)
    a = d / "annotations"
    return {"captions": a / f"captions_{split}.json", "instances": a / f"instances_{split}.json",
            "questions": a / f"vqa_{split}_questions.json", "annotations": a / f"vqa_{split}_annotations.json",
            "karpathy": a / "dataset_vlnsim.json", "image_root": d / "images" / split}
