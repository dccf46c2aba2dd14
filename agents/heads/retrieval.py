"""Retrieval head: ITC similarity for all pairs, ITM re-ranking of each query's top k.

As ALBEF/BLIP evaluate: the ITC cosine similarity ranks every image-text pair, then
the fusion encoder's ITM head re-scores the ``k`` best texts of every image and the ``k``
best images of every text (COCO used k = 256, Flickr30K k = 128). Re-ranked entries get
``ITM match probability + ITC similarity`` (BLIP's sum); the rest keep their ITC order
below them. Fine-tuning uses ALBEF's retrieval objective: ITC with every caption of the
same image counted positive, plus ITM on one hard negative text per image and one hard
negative image per text, sampled in proportion to the softmax of ITC similarity.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from vlnsim.errors import ConfigError

from agents.vlp import TextOutput


@dataclass
class RetrievalHeadConfig:
    """Retrieval ranking and fine-tuning settings."""

    k_test: int = 16
    """ITM re-ranks each query's top k (ALBEF: 256 on COCO, 128 on Flickr30K)."""
    rerank: bool = True
    """Re-rank with ITM; False = ITC only."""
    itm_batch_size: int = 256
    """Image-text pairs per fusion forward pass at evaluation."""
    itm_weight: float = 1.0
    """Weight of the ITM loss next to ITC when fine-tuning."""

    def validate(self) -> None:
        if self.k_test < 1:
            raise ConfigError(f"retrieval.k_test={self.k_test}; expected >= 1")
        if self.itm_batch_size < 1:
            raise ConfigError(f"retrieval.itm_batch_size={self.itm_batch_size}; expected >= 1")
        if self.itm_weight < 0:
            raise ConfigError(f"retrieval.itm_weight={self.itm_weight}; expected >= 0")


def select_text(text: TextOutput, idx: torch.Tensor) -> TextOutput:
    """Rows ``idx`` of a TextOutput."""
    return TextOutput(embeds=text.embeds[idx], tokens=text.tokens[idx], attention_mask=text.attention_mask[idx])


def retrieval_loss(model, image, text: TextOutput, image_ids: torch.Tensor, itm_weight: float = 1.0,
                   generator: torch.Generator = None) -> Tuple[torch.Tensor, Dict[str, float]]:
    """ITC (captions of one image all positive) + ITM with in-batch hard negatives.

    Args:
        model: the ``VLPModel``.
        image: ImageOutput of the batch (row i pairs with text row i).
        text: TextOutput of the batch.
        image_ids: (B,) image identity of each row (rows sharing an image are positives).
    """
    same = (image_ids[:, None] == image_ids[None, :]).float()
    sim = model.similarity(image.embeds, text.embeds)  # (B, B) / temperature
    targets = same / same.sum(1, keepdim=True)
    itc = 0.5 * (-(F.log_softmax(sim, 1) * targets).sum(1).mean() - (F.log_softmax(sim.t(), 1) * targets).sum(1).mean())
    out = {"itc": float(itc.detach())}
    if itm_weight <= 0:
        return itc, out
    B = image_ids.shape[0]
    with torch.no_grad():
        w_i2t = F.softmax(sim.float(), 1).masked_fill(same.bool(), 0) + 1e-9 * (1 - same)
        w_t2i = F.softmax(sim.t().float(), 1).masked_fill(same.bool(), 0) + 1e-9 * (1 - same)
        has_neg = (same.sum(1) < B)
        # Sampled on the CPU: the (seeded, checkpointed) generator lives there whatever the device.
        pad = (~has_neg[:, None]).float()
        neg_text = torch.multinomial((w_i2t + pad).cpu(), 1, generator=generator).squeeze(1).to(image_ids.device)
        neg_image = torch.multinomial((w_t2i + pad).cpu(), 1, generator=generator).squeeze(1).to(image_ids.device)
    keep = has_neg.nonzero().squeeze(1)
    img_tokens = torch.cat([image.tokens, image.tokens[keep], image.tokens[neg_image[keep]]])
    txt_idx = torch.cat([torch.arange(B, device=image_ids.device), neg_text[keep], keep])
    labels = torch.cat([torch.ones(B), torch.zeros(2 * keep.numel())]).long().to(image_ids.device)
    logits = model.fuse(img_tokens, select_text(text, txt_idx)).itm_logits
    itm = F.cross_entropy(logits.float(), labels)
    out["itm"] = float(itm.detach())
    out["itm_accuracy"] = float((logits.argmax(1) == labels).float().mean())
    return itc + itm_weight * itm, out


@torch.no_grad()
def itc_similarity(features, num_images: int, num_texts: int, device=None, batch_size: int = 512) -> torch.Tensor:
    """(num_images, num_texts) cosine similarity of every pair (``features``: a TowerCache)."""
    img = torch.cat([features.images(range(s, min(num_images, s + batch_size)), device).embeds
                     for s in range(0, num_images, batch_size)])
    txt = torch.cat([features.texts(range(s, min(num_texts, s + batch_size)), device).embeds
                     for s in range(0, num_texts, batch_size)])
    return (img.float() @ txt.float().t()).cpu()


@torch.no_grad()
def itm_rerank(model, features, sims: torch.Tensor, k: int, batch_size: int = 256, device=None,
               progress: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Re-score each image's top-k texts and each text's top-k images with ITM.

    Returns ``(scores_i2t, scores_t2i)``, both (num_images, num_texts): re-ranked
    entries hold ITM probability + ITC similarity, the others ITC similarity - 10
    (below every re-ranked entry, their ITC order kept).
    """
    n_img, n_txt = sims.shape
    pairs_i2t = _topk_pairs(sims, min(k, n_txt))
    pairs_t2i = _topk_pairs(sims.t(), min(k, n_img))[:, [1, 0]]
    out = []
    for pairs in (pairs_i2t, pairs_t2i):
        scores = sims.clone() - 10.0
        itm = _itm_scores(model, features, pairs, batch_size, device, progress)
        scores[pairs[:, 0], pairs[:, 1]] = itm + sims[pairs[:, 0], pairs[:, 1]]
        out.append(scores.numpy())
    return out[0], out[1]


def _topk_pairs(sims: torch.Tensor, k: int) -> torch.Tensor:
    top = sims.topk(k, dim=1).indices  # (rows, k)
    rows = torch.arange(sims.shape[0])[:, None].expand_as(top)
    return torch.stack([rows.reshape(-1), top.reshape(-1)], 1)


def _itm_scores(model, features, pairs: torch.Tensor, batch_size: int, device, progress: bool) -> torch.Tensor:
    starts = range(0, pairs.shape[0], batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="ITM re-ranking", unit="batch", leave=False)
    scores = []
    for s in starts:
        p = pairs[s: s + batch_size]
        img = features.images(p[:, 0].tolist(), device)
        txt = features.texts(p[:, 1].tolist(), device)
        scores.append(model.fuse(img, txt).itm_score.float().cpu())
    return torch.cat(scores) if scores else torch.zeros(0)


def rank_scores(model, features, num_images: int, num_texts: int, cfg: RetrievalHeadConfig, device=None,
                progress: bool = False) -> Dict[str, np.ndarray]:
    """Score matrices for evaluation: ``itc`` and, when re-ranking, ``itm_i2t`` / ``itm_t2i``."""
    sims = itc_similarity(features, num_images, num_texts, device)
    out = {"itc": sims.numpy()}
    if cfg.rerank:
        out["itm_i2t"], out["itm_t2i"] = itm_rerank(model, features, sims, cfg.k_test, cfg.itm_batch_size, device, progress)
    return out


def retrieval_report(scores: Dict[str, np.ndarray], text_to_image: Sequence[int]) -> Dict[str, Dict[str, float]]:
    """Recall@1/5/10 and RSUM for ITC alone and, when present, ITC + ITM re-ranking."""
    from agents.metrics.retrieval import retrieval_metrics

    report = {"itc": retrieval_metrics(scores["itc"], text_to_image)}
    if "itm_i2t" in scores:
        report["itm"] = retrieval_metrics(scores["itm_i2t"], text_to_image, scores_t2i=scores["itm_t2i"])
    return report
