"""Karpathy split files: ``dataset_coco.json``, ``dataset_flickr30k.json`` (and ``dataset_vlnsim.json``).

Schema (as distributed with NeuralTalk and used by ALBEF/BLIP for COCO/Flickr30K retrieval
and captioning)::

    {"dataset": "coco",
     "images": [{"filepath": "val2014",            # COCO only; absent in Flickr30K
                 "filename": "COCO_val2014_000000391895.jpg",
                 "imgid": 0, "cocoid": 391895,      # cocoid: COCO only
                 "split": "train" | "val" | "test" | "restval",
                 "sentids": [...],
                 "sentences": [{"raw": "A man ...", "tokens": ["a", "man", ...],
                                "imgid": 0, "sentid": 0}, ...]}]}

An image's file is ``image_root / filepath / filename`` (or ``image_root / filename``).
``restval`` images are training images in the Karpathy protocol.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from vlnsim.errors import DatasetFormatError

from ._schema import PathLike, field, read_json

SCHEMA = "Karpathy split (dataset_coco.json)"
SPLITS = ("train", "val", "test", "restval")


@dataclass(frozen=True)
class KarpathyImage:
    """One image of a Karpathy split file with its captions."""

    image_id: int
    """``cocoid`` when present (COCO), else ``imgid`` (Flickr30K)."""
    path: Path
    """Image file: ``image_root / filepath / filename``."""
    split: str
    """``train``, ``val``, ``test`` or ``restval``."""
    captions: Tuple[str, ...]
    """Raw caption strings."""
    tokens: Tuple[Tuple[str, ...], ...]
    """The file's own tokenisation of each caption (empty tuples when absent)."""


def load_karpathy(
    path: PathLike,
    image_root: Optional[PathLike] = None,
    splits: Optional[Iterable[str]] = None,
    restval_as_train: bool = True,
    check_files: bool = False,
) -> List[KarpathyImage]:
    """Read a Karpathy split file.

    Args:
        path: the JSON file.
        image_root: folder the ``filepath``/``filename`` are relative to (default: the
            JSON file's folder).
        splits: keep only these splits (after ``restval`` -> ``train`` when
            ``restval_as_train``); default all.
        restval_as_train: report ``restval`` images as ``train`` (the Karpathy protocol).
        check_files: raise when an image file does not exist.
    """
    path = Path(path)
    root = Path(image_root) if image_root is not None else path.parent
    data = read_json(path, SCHEMA)
    images = field(data, "images", list, path, "top level", SCHEMA)
    wanted = set(splits) if splits is not None else None
    if wanted is not None:
        unknown = wanted - set(SPLITS)
        if unknown:
            raise DatasetFormatError(f"load_karpathy: unknown split(s) {sorted(unknown)}; expected some of {list(SPLITS)}")
    out: List[KarpathyImage] = []
    seen: Dict[int, int] = {}
    for i, rec in enumerate(images):
        where = f"images[{i}]"
        filename = field(rec, "filename", str, path, where, SCHEMA)
        split = field(rec, "split", str, path, where, SCHEMA)
        if split not in SPLITS:
            raise DatasetFormatError(f"{path}: {where}.split is {split!r}; expected one of {list(SPLITS)}")
        image_id = field(rec, "cocoid" if "cocoid" in rec else "imgid", int, path, where, SCHEMA)
        if image_id in seen:
            raise DatasetFormatError(f"{path}: {where} repeats image id {image_id} of images[{seen[image_id]}]")
        seen[image_id] = i
        sentences = field(rec, "sentences", list, path, where, SCHEMA)
        if not sentences:
            raise DatasetFormatError(f"{path}: {where}.sentences is empty; expected at least one caption")
        raws, toks = [], []
        for j, sent in enumerate(sentences):
            raws.append(field(sent, "raw", str, path, f"{where}.sentences[{j}]", SCHEMA))
            t = sent.get("tokens", []) if isinstance(sent, dict) else []
            if not isinstance(t, list) or not all(isinstance(w, str) for w in t):
                raise DatasetFormatError(f"{path}: {where}.sentences[{j}].tokens is not a list of strings")
            toks.append(tuple(t))
        filepath = rec.get("filepath", "")
        if not isinstance(filepath, str):
            raise DatasetFormatError(f"{path}: {where}.filepath is {type(filepath).__name__}; expected str")
        file = root / filepath / filename if filepath else root / filename
        if check_files and not file.is_file():
            raise DatasetFormatError(f"{path}: {where} image file {file} does not exist (image_root={root})")
        if restval_as_train and split == "restval":
            split = "train"
        if wanted is None or split in wanted:
            out.append(KarpathyImage(image_id, file, split, tuple(raws), tuple(toks)))
    return out


def retrieval_pairs(images: Sequence[KarpathyImage]) -> Tuple[List[Path], List[str], List[int]]:
    """Flatten to (image paths, captions, caption -> image index), the retrieval evaluation layout."""
    paths, texts, text_to_image = [], [], []
    for i, img in enumerate(images):
        paths.append(img.path)
        for c in img.captions:
            texts.append(c)
            text_to_image.append(i)
    return paths, texts, text_to_image


def caption_references(images: Sequence[KarpathyImage]) -> Dict[int, List[str]]:
    """image id -> reference captions, the input of the captioning metrics."""
    return {img.image_id: list(img.captions) for img in images}
