"""A notebook API over the fine-tuned heads: load once, then retrieve / answer / caption.

    from agents.heads.api import VisionLanguage
    vl = VisionLanguage.load("runs/eval_pretrained")      # an eval-encoder or finetune output, or an encoder
    vl.caption(["a.png", "b.png"]); vl.answer(["a.png"], ["what room is this?"]); vl.retrieve(["a.png", "b.png"], ["a red sofa"])

Images may be file paths, PIL images or uint8 (H, W, 3) arrays.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from vlnsim.errors import ConfigError

from .features import TowerCache
from .task_model import TaskModel


@dataclass
class Retrieval:
    """Scores (images × texts: ITM probability + ITC similarity, or ITC alone) and rankings."""

    scores: np.ndarray
    texts_for_image: List[List[int]]
    """Per image, text indices best first."""
    images_for_text: List[List[int]]
    """Per text, image indices best first."""


def _to_uint8(images, size: int) -> torch.Tensor:
    from PIL import Image

    out = []
    for im in images:
        if isinstance(im, (str, Path)):
            with Image.open(im) as f:
                im = f.convert("RGB").copy()
        if isinstance(im, np.ndarray):
            im = Image.fromarray(np.asarray(im, dtype=np.uint8))
        out.append(np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.uint8))
    return torch.from_numpy(np.stack(out))


class VisionLanguage:
    """Retrieval, VQA and captioning models sharing one API."""

    def __init__(self, models: Dict[str, TaskModel], device: str = "cpu"):
        self.models = {k: m.to(device).eval() for k, m in models.items()}
        self.device = device

    @classmethod
    def load(cls, path: Union[str, Path], device: str = "cpu") -> "VisionLanguage":
        """An ``eval-encoder`` output (``<task>/final``), a ``finetune`` run or ``final`` dir, or a bare encoder."""
        from agents.heads.retrieval import RetrievalHeadConfig
        from agents.vlp import VLPModel

        p = Path(path)
        models: Dict[str, TaskModel] = {}
        for candidate in (p, p / "final", *[p / t / "final" for t in ("retrieval", "vqa", "caption")]):
            if (candidate / "head" / "head.json").is_file():
                m = TaskModel.from_pretrained(candidate)
                models.setdefault(m.task, m)
        if not models and (p / "vlp_config.json").is_file():
            models["retrieval"] = TaskModel("retrieval", VLPModel.from_pretrained(p), None, RetrievalHeadConfig())
        if not models:
            raise ConfigError(f"{p}: no fine-tuned heads (head/head.json) and no encoder (vlp_config.json) found")
        return cls(models, device)

    def _model(self, task: str) -> TaskModel:
        if task not in self.models:
            raise ConfigError(f"no {task} head loaded (have {sorted(self.models)}); "
                              f"fine-tune one with `vlnsim finetune --task {task} ...`")
        return self.models[task]

    @torch.no_grad()
    def retrieve(self, images: Sequence, texts: Sequence[str], rerank_k: Optional[int] = None) -> Retrieval:
        """Rank ``texts`` for every image and ``images`` for every text (ITC, then ITM on the top k)."""
        from .retrieval import itc_similarity, itm_rerank

        m = self._model("retrieval") if "retrieval" in self.models else next(iter(self.models.values()))
        enc = m.encoder
        feats = TowerCache(enc, _to_uint8(images, enc.image_size), list(texts))
        sims = itc_similarity(feats, len(images), len(texts), self.device)
        k = rerank_k if rerank_k is not None else getattr(m.head_config, "k_test", 16)
        if k > 0:
            s_i2t, s_t2i = itm_rerank(enc, feats, sims, k, device=self.device)
        else:
            s_i2t = s_t2i = sims.numpy()
        return Retrieval(scores=s_i2t, texts_for_image=np.argsort(-s_i2t, 1, kind="stable").tolist(),
                         images_for_text=np.argsort(-s_t2i.T, 1, kind="stable").tolist())

    @torch.no_grad()
    def answer(self, images: Sequence, questions: Sequence[str]) -> List[str]:
        """One answer per (image, question) pair; a single image is asked every question."""
        from .data import swap_sides
        from .vqa import answer_scores, predict_answers

        m = self._model("vqa")
        if len(images) == 1 and len(questions) > 1:
            images = list(images) * len(questions)
        if len(images) != len(questions):
            raise ValueError(f"{len(images)} images for {len(questions)} questions; expected one image per question")
        pixels, questions, n = _to_uint8(images, m.encoder.image_size), list(questions), len(questions)
        mirror = None
        if m.head_config.mirror_tta:  # the mirrored copies after the originals, as mirror_augment lays them out
            pixels = torch.cat([pixels, pixels.flip(2)])
            questions, mirror = questions + [swap_sides(q) for q in questions], (n, n)
        feats = TowerCache(m.encoder, pixels, questions)
        idx = list(range(n))
        return predict_answers(answer_scores(m.head, m.encoder, feats, idx, idx, mirror, self.device), m.answers)

    @torch.no_grad()
    def caption(self, images: Sequence, **decoding) -> List[str]:
        """One caption per image (``decoding``: num_beams, length_penalty, min/max_new_tokens)."""
        m = self._model("caption")
        feats = TowerCache(m.encoder, _to_uint8(images, m.encoder.image_size), [])
        return m.head.caption(feats.images(list(range(len(images))), self.device).tokens, **decoding)
