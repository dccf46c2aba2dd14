"""VQA head: answer classification over the most frequent training answers (UNITER/LXMERT style).

The fused [CLS] state of (question, image) goes through ``Linear(D, 2D) → GELU →
LayerNorm → Linear(2D, N)``; targets are VQA v2 soft scores, an answer given by ``c`` of
the humans scoring ``min(1, c/3)``, trained with binary cross-entropy (summed over the N
answers, averaged over the batch, as UNITER does). Answers are normalised with the
official VQA normalisation before counting, so "Two" and "2" are one class.

Options (``VQAHeadConfig``), all off by default (= the UNITER head): ``inputs="cls+image"``
also feeds the classifier an attention pooling of the image tokens with the fused [CLS]
as query; ``image_positions`` adds a learned (zero-initialised) position embedding to the
image tokens entering the fusion; ``extra_layers`` stacks fresh fusion layers on the
encoder's. ``VQAHead.answer_logits(encoder, image, question)`` runs the whole path.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from vlnsim.errors import ConfigError

from ..metrics.vqa import normalize_answer, soft_score


class AnswerVocab:
    """The N most frequent (normalised) answers of a training set, and soft targets over them."""

    def __init__(self, answers: Sequence[str]):
        if not answers:
            raise ConfigError("AnswerVocab: empty answer list; expected at least one training answer")
        if len(set(answers)) != len(answers):
            raise ConfigError("AnswerVocab: repeated answers; expected distinct strings")
        self.answers: List[str] = list(answers)
        self.index: Dict[str, int] = {a: i for i, a in enumerate(self.answers)}

    def __len__(self) -> int:
        return len(self.answers)

    @classmethod
    def from_annotations(cls, annotations: Iterable[Mapping], top_n: int = 3129) -> "AnswerVocab":
        """Count every human answer (normalised) and keep the ``top_n`` most frequent (ties by name)."""
        counts: Counter = Counter()
        for ann in annotations:
            for a in ann["answers"]:
                counts[normalize_answer(a["answer"])] += 1
        counts.pop("", None)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: int(top_n)]
        return cls([a for a, _ in ranked])

    def targets(self, human_answers: Sequence[str]) -> torch.Tensor:
        """(N,) soft target: min(1, count/3) for every candidate answer the humans gave."""
        t = torch.zeros(len(self.answers))
        for ans, c in Counter(normalize_answer(a) for a in human_answers).items():
            if ans in self.index:
                t[self.index[ans]] = soft_score(c)
        return t

    def save(self, path: Union[str, Path]) -> None:
        from vlnsim.io_utils import atomic_write_text

        atomic_write_text(Path(path), json.dumps({"answers": self.answers}, indent=0))

    @classmethod
    def load(cls, path: Union[str, Path]) -> "AnswerVocab":
        with open(path, "r", encoding="utf-8") as fh:
            return cls(json.load(fh)["answers"])


@dataclass
class VQAHeadConfig:
    """VQA classifier settings."""

    num_answers: int = 3129
    """Candidate answers kept from the training set (VQA v2 papers use 3,129)."""
    hidden_mult: int = 2
    """Width of the hidden layer as a multiple of the fused width (UNITER: 2)."""
    dropout: float = 0.1
    """Dropout before the output layer."""
    inputs: str = "cls"
    """Classifier input: "cls" (the fused [CLS], UNITER) or "cls+image": [CLS] concatenated with a
    question-conditioned attention pooling of the image tokens (the [CLS] state is the query)."""
    image_positions: bool = False
    """Add a learned position embedding (zero-initialised) to the image tokens entering the fusion."""
    extra_layers: int = 0
    """Fresh fusion layers (the encoder's fusion layer shape: self-attention over the question,
    cross-attention to the image) stacked on the encoder's fusion output, for more reasoning depth."""
    mirror_tta: bool = False
    """At inference also ask the side-swapped question of the left-right mirrored image and average
    the two answer probabilities (for heads fine-tuned with ``mirror_augment``)."""

    def validate(self) -> None:
        if self.num_answers < 1:
            raise ConfigError(f"vqa.num_answers={self.num_answers}; expected >= 1")
        if self.hidden_mult < 1:
            raise ConfigError(f"vqa.hidden_mult={self.hidden_mult}; expected >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"vqa.dropout={self.dropout}; expected a value in [0, 1)")
        if self.extra_layers < 0:
            raise ConfigError(f"vqa.extra_layers={self.extra_layers}; expected >= 0")
        if self.inputs not in ("cls", "cls+image"):
            raise ConfigError(f"vqa.inputs={self.inputs!r}; expected 'cls' or 'cls+image'")


class VQAHead(nn.Module):
    """Answer classifier over the fused [CLS] state (optionally + question-attended image tokens).

    Args:
        fused_width: width D of the fusion encoder.
        num_answers: N candidate answers.
        image_width / image_tokens: width and count of the image tokens (for ``inputs="cls+image"``
            and ``image_positions``).
    """

    def __init__(self, fused_width: int, num_answers: int, hidden_mult: int = 2, dropout: float = 0.1,
                 inputs: str = "cls", image_positions: bool = False, image_width: int = 0, image_tokens: int = 0,
                 extra_layers: int = 0, fusion_config=None):
        super().__init__()
        self.extra = None
        if extra_layers:
            import copy

            from agents.vlp.fusion import FusionEncoder

            if fusion_config is None:
                raise ConfigError("VQA head: extra_layers needs the encoder's fusion config")
            cfg = copy.deepcopy(fusion_config)
            cfg.num_hidden_layers = int(extra_layers)
            self.extra = FusionEncoder(cfg)
        if (inputs != "cls" or image_positions) and (image_width < 1 or image_tokens < 1):
            raise ConfigError(f"VQA head: inputs={inputs!r}, image_positions={image_positions} need the image "
                              f"token shape; got image_width={image_width}, image_tokens={image_tokens}")
        self.inputs = inputs
        in_width = fused_width
        if inputs == "cls+image":
            self.image_key = nn.Linear(image_width, fused_width)
            self.image_value = nn.Sequential(nn.Linear(image_width, fused_width), nn.LayerNorm(fused_width))
            in_width = 2 * fused_width
        self.image_pos = nn.Parameter(torch.zeros(1, image_tokens, image_width)) if image_positions else None
        hidden = fused_width * hidden_mult
        self.classifier = nn.Sequential(
            nn.Linear(in_width, hidden), nn.GELU(), nn.LayerNorm(hidden), nn.Dropout(dropout),
            nn.Linear(hidden, num_answers),
        )
        self.num_answers = num_answers

    def forward(self, fused_cls: torch.Tensor, image_tokens: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, D) fused [CLS] (+ (B, T, Dv) image tokens for "cls+image") -> (B, N) answer logits."""
        x = fused_cls
        if self.inputs == "cls+image":
            if image_tokens is None:
                raise ConfigError("VQA head: inputs='cls+image' needs the image tokens")
            keys = self.image_key(image_tokens)  # (B, T, D)
            att = torch.softmax((keys @ fused_cls.unsqueeze(-1)).squeeze(-1) / keys.shape[-1] ** 0.5, dim=-1)
            pooled = (att.unsqueeze(-1) * self.image_value(image_tokens)).sum(1)
            x = torch.cat([fused_cls, pooled], dim=-1)
        return self.classifier(x)

    def answer_logits(self, encoder, image, text) -> torch.Tensor:
        """Logits for (image, question) pairs: ``image`` an ImageOutput (or token tensor), ``text`` a TextOutput."""
        tokens = image.tokens if hasattr(image, "tokens") else image
        if self.image_pos is not None:
            tokens = tokens + self.image_pos.to(tokens.dtype)
        fused = encoder.fuse(tokens, text).hidden_states
        if self.extra is not None:
            fused = self.extra(fused, text.attention_mask, encoder.image_to_fusion(tokens))
        return self.forward(fused[:, 0], tokens)

    @staticmethod
    def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Soft-target BCE, summed over answers and averaged over the batch."""
        return F.binary_cross_entropy_with_logits(logits, targets, reduction="mean") * targets.shape[1]


def answer_scores(head: "VQAHead", encoder, features, text_idx: Sequence[int], image_idx: Sequence[int],
                  mirror: Optional[Sequence[int]] = None, device=None) -> torch.Tensor:
    """(B, N) answer probabilities of (question, image) pairs from ``features`` (a TowerCache).

    With ``mirror=(n_texts, n_images)`` the features also hold the mirrored copies
    (``data.mirror_augment``: question ``i + n_texts`` on image ``j + n_images``) and the
    two probabilities are averaged (test-time augmentation)."""
    text_idx, image_idx = list(text_idx), list(image_idx)
    probs = torch.sigmoid(head.answer_logits(encoder, features.images(image_idx, device), features.texts(text_idx, device)))
    if mirror is not None:
        nt, ni = int(mirror[0]), int(mirror[1])
        flipped = head.answer_logits(encoder, features.images([j + ni for j in image_idx], device),
                                     features.texts([i + nt for i in text_idx], device))
        probs = 0.5 * (probs + torch.sigmoid(flipped))
    return probs


def predict_answers(logits: torch.Tensor, vocab: AnswerVocab) -> List[str]:
    """Highest-scoring candidate answer per row."""
    return [vocab.answers[i] for i in logits.argmax(dim=-1).tolist()]


def majority_baseline(train_annotations: Iterable[Mapping], family_key: Optional[str] = None) -> Dict[str, str]:
    """Most frequent training answer overall (key ``""``) and per family: the majority-answer baseline."""
    overall: Counter = Counter()
    per: Dict[str, Counter] = {}
    for ann in train_annotations:
        ans = normalize_answer(ann.get("multiple_choice_answer") or Counter(a["answer"] for a in ann["answers"]).most_common(1)[0][0])
        overall[ans] += 1
        if family_key and family_key in ann:
            per.setdefault(str(ann[family_key]), Counter())[ans] += 1
    out = {"": min(overall.items(), key=lambda kv: (-kv[1], kv[0]))[0]} if overall else {}
    for fam, c in per.items():
        out[fam] = min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return out
