"""Task data for fine-tuning and evaluating the heads, from a corpus directory or real files.

``--data`` may be:

* a ``vlnsim make-corpus`` directory (``annotations/`` + ``images/<split>/``): COCO captions
  for retrieval and captioning, VQA v2 files for VQA (``question_family`` kept);
* a Karpathy split file (``dataset_coco.json``/``dataset_flickr30k.json``; give
  ``image_root``) for retrieval and captioning;
* a CLEVR questions file (``CLEVR_<split>_questions.json``) for VQA, one file per split;
* a VQA v2 questions file with its annotations file beside it (``..._questions.json`` ->
  ``..._annotations.json``) and ``image_root`` holding COCO-named images
  (``COCO_<data_subtype>_<image_id:012d>.jpg``).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from vlnsim.errors import DatasetFormatError

TASKS = ("retrieval", "vqa", "caption")


@dataclass
class ImageTextSet:
    """Images with their captions (retrieval and captioning)."""

    image_ids: List[int]
    paths: List[Path]
    captions: List[List[str]]
    mirrored: List[bool] = field(default_factory=list)
    """Per image: show it flipped left-right (``mirror_augment``); empty = none is."""

    def flat(self) -> Tuple[List[str], List[int]]:
        """(all captions, caption -> image index)."""
        texts, owner = [], []
        for i, caps in enumerate(self.captions):
            texts.extend(caps)
            owner.extend([i] * len(caps))
        return texts, owner

    def references(self) -> Dict[int, List[str]]:
        return {iid: list(c) for iid, c in zip(self.image_ids, self.captions)}


@dataclass
class VQASet:
    """Questions over a set of images (VQA)."""

    image_ids: List[int]
    paths: List[Path]
    questions: List[dict] = field(default_factory=list)
    """Each: question_id, image_index, question, answers (list of str), family (str or None)."""
    mirrored: List[bool] = field(default_factory=list)
    """Per image: show it flipped left-right (``mirror_augment``); empty = none is."""

    def annotations(self) -> List[dict]:
        """VQA v2 annotation records (for the official accuracy)."""
        out = []
        for q in self.questions:
            rec = {"question_id": q["question_id"], "answers": [{"answer": a} for a in q["answers"]]}
            if q.get("family") is not None:
                rec["question_family"] = q["family"]
            out.append(rec)
        return out


_SIDES = re.compile(r"\b(left|right)(most)?\b", re.IGNORECASE)


def swap_sides(text: str) -> str:
    """``text`` with "left" and "right" exchanged (case kept): what it says of the mirrored image."""

    def swap(m: re.Match) -> str:
        word = m.group(1)
        new = "right" if word.lower() == "left" else "left"
        if word.isupper():
            new = new.upper()
        elif word[0].isupper():
            new = new.capitalize()
        return new + (m.group(2) or "")

    return _SIDES.sub(swap, text)


def mirror_augment(data):
    """``data`` plus a left-right mirrored copy of every image, its texts with the sides swapped.

    A mirrored view of a house is another plausible view, and every question and caption
    stays exact once "left" and "right" are exchanged (counts, colours, categories and
    rooms do not change; an object left of another is right of it in the mirror). So it
    doubles the training images at no rendering cost. Answers are swapped too (VQA v2's
    "which side is the dog on?" -> "left"). Not for data where handedness shows otherwise
    (text in the image, "is this right?" meaning correct). The mirrored copies come after
    the originals (image ``i`` -> ``i + n``); the copies' image and question ids are
    ``-id - 1``, so no id is repeated.
    """
    n = len(data.paths)
    flags = list(data.mirrored) or [False] * n
    ids = list(data.image_ids) + [-int(i) - 1 for i in data.image_ids]
    if isinstance(data, VQASet):
        copies = [dict(q, question=swap_sides(q["question"]), answers=[swap_sides(a) for a in q["answers"]],
                       image_index=q["image_index"] + n,
                       question_id=-int(q["question_id"]) - 1, image_id=-int(q["image_id"]) - 1)
                  for q in data.questions]
        return replace(data, image_ids=ids, paths=list(data.paths) * 2,
                       questions=list(data.questions) + copies, mirrored=flags + [not f for f in flags])
    return replace(data, image_ids=ids, paths=list(data.paths) * 2,
                   captions=list(data.captions) + [[swap_sides(c) for c in caps] for caps in data.captions],
                   mirrored=flags + [not f for f in flags])


def data_kind(source: Path) -> str:
    """``corpus``, ``karpathy``, ``clevr`` or ``vqa`` for a ``--data`` argument."""
    if source.is_dir():
        if (source / "annotations").is_dir():
            return "corpus"
        raise DatasetFormatError(f"{source}: a directory without annotations/; expected a `vlnsim make-corpus` output")
    if not source.is_file():
        raise DatasetFormatError(f"{source}: no such file or directory; expected a corpus directory or an annotation file")
    with open(source, "r", encoding="utf-8") as fh:
        head = fh.read(4096)
    if '"sentences"' in head or '"dataset"' in head:
        return "karpathy"
    if '"image_filename"' in head or "CLEVR" in source.name:
        return "clevr"
    if '"questions"' in head:
        return "vqa"
    raise DatasetFormatError(f"{source}: not a Karpathy split, CLEVR questions or VQA v2 questions file "
                             "(looked for 'sentences', 'image_filename', 'questions')")


def _subsample(n: int, max_items: int, seed: int) -> List[int]:
    if not max_items or max_items >= n:
        return list(range(n))
    return sorted(np.random.default_rng(seed).permutation(n)[:max_items].tolist())


def load_image_text(source, split: str, image_root=None, max_images: int = 0, seed: int = 0) -> ImageTextSet:
    """Images and captions of one split (retrieval / captioning)."""
    source = Path(source)
    kind = data_kind(source)
    if kind == "corpus":
        from agents.datasets.coco_captions import corpus_paths, load_coco_captions

        p = corpus_paths(source, split)
        coco = load_coco_captions(p["captions"], p["image_root"])
        images = [(im.image_id, im.path, coco.captions.get(im.image_id, [])) for im in coco.images]
    elif kind == "karpathy":
        from agents.datasets.karpathy import load_karpathy

        images = [(im.image_id, im.path, list(im.captions))
                  for im in load_karpathy(source, image_root=image_root, splits=[split])]
    else:
        raise DatasetFormatError(f"{source}: a {kind} file has no captions; retrieval and captioning need a corpus "
                                 "directory or a Karpathy split file")
    images = [im for im in images if im[2]]
    if not images:
        raise DatasetFormatError(f"{source}: split {split!r} has no captioned images")
    keep = _subsample(len(images), max_images, seed)
    return ImageTextSet([images[i][0] for i in keep], [Path(images[i][1]) for i in keep], [list(images[i][2]) for i in keep])


def load_vqa_set(source, split: str, image_root=None, max_images: int = 0, seed: int = 0) -> VQASet:
    """Questions (with answers) of one split and their images (VQA)."""
    source = Path(source)
    kind = data_kind(source)
    if kind == "corpus":
        from agents.datasets.coco_captions import corpus_paths, load_coco_captions
        from agents.datasets.vqa import load_vqa

        p = corpus_paths(source, split)
        paths = {im.image_id: im.path for im in load_coco_captions(p["captions"], p["image_root"]).images}
        qs = [dict(question_id=q.question_id, image_id=q.image_id, question=q.question, answers=list(q.answers),
                   family=q.family) for q in load_vqa(p["questions"], p["annotations"])]
    elif kind == "clevr":
        from agents.datasets.clevr import load_clevr_questions

        loaded = load_clevr_questions(source, image_root=image_root)
        paths = {q.image_index: q.image_path for q in loaded}
        qs = [dict(question_id=q.question_index, image_id=q.image_index, question=q.question,
                   answers=[q.answer] * 10 if q.answer is not None else [], family=q.question_type) for q in loaded]
    elif kind == "vqa":
        from agents.datasets.vqa import load_vqa

        ann = source.with_name(source.name.replace("questions", "annotations").replace("OpenEnded_", ""))
        if not ann.is_file():
            raise DatasetFormatError(f"{source}: no annotations file {ann.name} beside it; expected VQA v2's pair of files")
        subtype = json.loads(source.read_text()).get("data_subtype", split)
        root = Path(image_root) if image_root is not None else source.parent
        loaded = load_vqa(source, ann)
        paths = {q.image_id: root / f"COCO_{subtype}_{q.image_id:012d}.jpg" for q in loaded}
        qs = [dict(question_id=q.question_id, image_id=q.image_id, question=q.question, answers=list(q.answers),
                   family=q.answer_type) for q in loaded]
    else:
        raise DatasetFormatError(f"{source}: a Karpathy file has no questions; VQA needs a corpus directory, "
                                 "a CLEVR questions file or VQA v2 questions + annotations")
    missing = [q["question_id"] for q in qs if not q["answers"]]
    if missing:
        raise DatasetFormatError(f"{source}: question {missing[0]} has no answers (a test split?); "
                                 "fine-tuning and evaluation need answered questions")
    image_ids = sorted({q["image_id"] for q in qs})
    for iid in image_ids:
        if iid not in paths:
            raise DatasetFormatError(f"{source}: question image_id {iid} has no image file record")
    keep = [image_ids[i] for i in _subsample(len(image_ids), max_images, seed)]
    index = {iid: k for k, iid in enumerate(keep)}
    questions = [dict(q, image_index=index[q["image_id"]]) for q in qs if q["image_id"] in index]
    if not questions:
        raise DatasetFormatError(f"{source}: split {split!r} has no questions")
    return VQASet(keep, [Path(paths[i]) for i in keep], questions)
