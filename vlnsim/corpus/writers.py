"""Writers of the corpus files, in the public schemas the real datasets use.

- ``images/<split>/<split>_<id:06d>.png`` RGB, with ``..._depth.png`` (uint16 millimetres,
  0 = no hit, as ScanNet/habitat depth PNGs) and ``..._sem.png`` (uint8 category ids of
  the instances file, 0 = nothing) beside it.
- ``annotations/captions_<split>.json``: COCO captions (``images``, ``annotations`` with
  ``id, image_id, caption``).
- ``annotations/instances_<split>.json``: COCO instances (``bbox``, ``area``, RLE
  ``segmentation``, ``iscrowd``, ``categories``).
- ``annotations/vqa_<split>_questions.json`` / ``vqa_<split>_annotations.json``: VQA v2
  (10 answers per question; ``question_family`` added as an extra field).
- ``annotations/dataset_vlnsim.json``: the Karpathy split file (``dataset_coco.json``
  shape) over all splits.
All JSON is written atomically with sorted keys, so equal content gives equal bytes.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from ..io_utils import atomic_write_bytes, atomic_write_text
from .views import CORPUS_CATEGORIES, STRUCTURE

INFO = {"description": "vlnsim simulator corpus (procedural houses)", "version": "1.0", "contributor": "vlnsim"}
LICENSES = [{"id": 1, "name": "MIT", "url": "https://opensource.org/licenses/MIT"}]


def image_file_names(split: str, image_id: int) -> Dict[str, str]:
    """File names (relative to ``images/<split>/``) of one image and its side maps."""
    stem = f"{split}_{image_id:06d}"
    return {"file_name": f"{stem}.png", "depth_file": f"{stem}_depth.png", "semantic_file": f"{stem}_sem.png"}


def _png(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def write_view_images(image_dir: Path, names: Dict[str, str], rgb: np.ndarray, depth: np.ndarray, semantic: np.ndarray) -> None:
    """Write the RGB, depth (uint16 mm) and semantic (uint8) PNGs of one view."""
    mm = np.clip(np.round(depth * 1000.0), 0, 65535).astype(np.uint16)
    atomic_write_bytes(image_dir / names["file_name"], _png(np.ascontiguousarray(rgb, dtype=np.uint8)))
    atomic_write_bytes(image_dir / names["depth_file"], _png(mm))
    atomic_write_bytes(image_dir / names["semantic_file"], _png(np.ascontiguousarray(semantic, dtype=np.uint8)))


def write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, sort_keys=True, separators=(",", ":")))


def categories() -> List[dict]:
    return [{"id": i + 1, "name": n, "supercategory": "structure" if n in STRUCTURE else "furniture"}
            for i, n in enumerate(CORPUS_CATEGORIES)]


def write_captions(path: Path, images: Sequence[dict], captions: Sequence[Sequence[str]]) -> int:
    """COCO captions file; returns the number of captions."""
    anns, next_id = [], 1
    for img, caps in zip(images, captions):
        for c in caps:
            anns.append({"id": next_id, "image_id": img["id"], "caption": c})
            next_id += 1
    write_json(path, {"info": INFO, "licenses": LICENSES, "images": list(images), "annotations": anns})
    return len(anns)


def write_instances(path: Path, images: Sequence[dict], boxes: Sequence[Sequence[dict]]) -> int:
    """COCO instances file; returns the number of boxes."""
    anns, next_id = [], 1
    for img, bs in zip(images, boxes):
        for b in bs:
            anns.append(dict(b, id=next_id, image_id=img["id"]))
            next_id += 1
    write_json(path, {"info": INFO, "licenses": LICENSES, "images": list(images), "annotations": anns,
                      "categories": categories()})
    return len(anns)


def write_vqa(questions_path: Path, annotations_path: Path, split: str, images: Sequence[dict], qas: Sequence[Sequence], first_qid: int) -> int:
    """VQA v2 questions + annotations files (10 identical answers per question)."""
    questions, anns = [], []
    qid = first_qid
    for img, qs in zip(images, qas):
        for q in qs:
            questions.append({"image_id": img["id"], "question": q.question, "question_id": qid})
            anns.append({
                "question_id": qid, "image_id": img["id"], "question_type": " ".join(q.question.split()[:3]),
                "question_family": q.family, "answer_type": q.answer_type, "multiple_choice_answer": q.answer,
                "answers": [{"answer": q.answer, "answer_confidence": "yes", "answer_id": k + 1} for k in range(10)],
            })
            qid += 1
    subtype = f"vlnsim_{split}"
    write_json(questions_path, {"info": INFO, "license": LICENSES[0], "task_type": "Open-Ended",
                                "data_type": "vlnsim", "data_subtype": subtype, "questions": questions})
    write_json(annotations_path, {"info": INFO, "license": LICENSES[0], "data_type": "vlnsim",
                                  "data_subtype": subtype, "annotations": anns})
    return len(questions)


def karpathy_record(split: str, img: dict, caps: Sequence[str], first_sentid: int) -> dict:
    """One ``dataset_coco.json`` image entry."""
    sents = [{"raw": c, "tokens": c.replace(",", " ").replace(":", " ").replace(";", " ").split(),
              "imgid": img["id"], "sentid": first_sentid + k} for k, c in enumerate(caps)]
    return {"filepath": split, "filename": img["file_name"], "imgid": img["id"], "cocoid": img["id"],
            "split": split, "sentids": [s["sentid"] for s in sents], "sentences": sents}
