"""Image-text retrieval recall: R@1/5/10 in both directions and their sum (RSUM).

Computed as ALBEF/BLIP/UNITER report them on COCO and Flickr30K (Karpathy test splits):

* image -> text: an image counts as a hit at k when *any* of its captions is among the
  k highest-scoring texts (rank of the best-ranked positive caption);
* text -> image: a caption is a hit at k when its own image is among the k best images.

Scores are a dense (num_images, num_texts) matrix, higher = more similar. Ties are broken
by index (a stable descending sort), so results are deterministic. Recalls are fractions
in [0, 1]; RSUM adds the six recalls in percent, as the papers print it.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np

DEFAULT_KS = (1, 5, 10)


def _ranks_of(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """0-based rank of each row's positive column under a stable descending sort."""
    pos_score = np.take_along_axis(scores, positive[:, None], axis=1)
    higher = (scores > pos_score).sum(axis=1)
    cols = np.arange(scores.shape[1])[None, :]
    tied_before = ((scores == pos_score) & (cols < positive[:, None])).sum(axis=1)
    return higher + tied_before


def image_to_text_ranks(scores: np.ndarray, text_to_image: Sequence[int]) -> np.ndarray:
    """Best rank among each image's captions (0 = a caption of it is ranked first)."""
    scores = np.asarray(scores, dtype=np.float64)
    t2i = np.asarray(text_to_image, dtype=np.int64)
    n_img, n_txt = scores.shape
    if t2i.shape != (n_txt,):
        raise ValueError(f"text_to_image has {t2i.shape[0]} entries; expected one per text column ({n_txt})")
    if n_txt and (t2i.min() < 0 or t2i.max() >= n_img):
        raise ValueError(f"text_to_image holds image index {int(t2i.max())} outside 0..{n_img - 1}")
    counts = np.bincount(t2i, minlength=n_img)
    if (counts == 0).any():
        missing = int(np.flatnonzero(counts == 0)[0])
        raise ValueError(f"image {missing} has no caption in text_to_image; every image needs at least one")
    # The best-ranked caption of an image is its highest-scoring one (ties: lowest index,
    # which np.argmax picks), so only that caption's rank is needed.
    positive = np.zeros((n_img, n_txt), dtype=bool)
    positive[t2i, np.arange(n_txt)] = True
    best = np.argmax(np.where(positive, scores, -np.inf), axis=1)
    return _ranks_of(scores, best)


def text_to_image_ranks(scores: np.ndarray, text_to_image: Sequence[int]) -> np.ndarray:
    """Rank of each caption's own image among all images (0 = first)."""
    scores = np.asarray(scores, dtype=np.float64)
    t2i = np.asarray(text_to_image, dtype=np.int64)
    return _ranks_of(scores.T, t2i)


def recall_at_k(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> Dict[int, float]:
    """Fraction of queries whose rank is < k, for each k."""
    ranks = np.asarray(ranks)
    return {int(k): float((ranks < k).mean()) if ranks.size else 0.0 for k in ks}


def retrieval_metrics(scores: np.ndarray, text_to_image: Sequence[int], ks: Sequence[int] = DEFAULT_KS,
                      scores_t2i: Optional[np.ndarray] = None) -> dict:
    """``{"i2t_r1", ..., "t2i_r10", "r_mean", "rsum"}`` from an (images × texts) score matrix.

    ``scores_t2i`` (same shape) scores the text -> image direction when it differs, as
    after ITM re-ranking, where each direction re-ranks its own top k.
    """
    i2t = recall_at_k(image_to_text_ranks(scores, text_to_image), ks)
    t2i = recall_at_k(text_to_image_ranks(scores if scores_t2i is None else scores_t2i, text_to_image), ks)
    out = {f"i2t_r{k}": v for k, v in i2t.items()}
    out.update({f"t2i_r{k}": v for k, v in t2i.items()})
    values = list(i2t.values()) + list(t2i.values())
    out["r_mean"] = float(np.mean(values))
    out["rsum"] = float(100.0 * np.sum(values))
    return out


def rankings(scores: np.ndarray, top: int = 10) -> dict:
    """Top-``top`` indices per query in both directions (stable descending), for results files."""
    scores = np.asarray(scores, dtype=np.float64)
    i2t = np.argsort(-scores, axis=1, kind="stable")[:, :top]
    t2i = np.argsort(-scores.T, axis=1, kind="stable")[:, :top]
    return {"i2t": i2t.tolist(), "t2i": t2i.tolist()}
