"""Pretraining objectives: ITC, ITM with hard negatives, MLM, masked-region classification.

Following ALBEF (Li et al. 2021) and UNITER (Chen et al. 2020):

- ITC: symmetric InfoNCE over image/text embeddings with the model's learnable
  temperature; the negatives are gathered from every rank (``all_gather`` that keeps
  the gradient). Captions of the same image count as positives (targets spread over
  equal image ids). Momentum distillation mixes in the momentum model's similarity
  distribution: ``targets = alpha * softmax(sim_m) + (1 - alpha) * one_hot``.
- ITM: the fused [CLS] classifies (image, text) as matching; each text gets one hard
  negative image and each image one hard negative text, sampled in-batch with
  probability proportional to softmax(ITC similarity), never an item of the same image.
- MLM: 15% of the text tokens (never special tokens) are selected; 80% of those become
  [MASK], 10% a random token, 10% stay; the fusion encoder predicts the originals.
- MRC: a share of the image patches is blanked; the patch tokens predict the object
  category under each masked patch, read exactly from the semantic sensor (the
  majority category of the patch's pixels).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

IGNORE = -100


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank (rank order); gradients flow back to each rank's part."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x), dim=0)


def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank (no gradient)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    out = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(out, x.contiguous())
    return torch.cat(out, dim=0)


def _rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def itc_loss(image_embeds: torch.Tensor, text_embeds: torch.Tensor, image_ids: torch.Tensor,
             temperature: torch.Tensor, momentum: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
             alpha: float = 0.4, momentum_temperature: Optional[torch.Tensor] = None,
             text_ids: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Symmetric InfoNCE with cross-rank negatives; returns (loss, sim_i2t, sim_t2i) of this rank.

    ``text_ids`` names the image of each text (default: text i belongs to image i), so
    several captions per image may be contrasted at once; every text of the same image
    is a positive. ``momentum`` = (momentum image embeds, momentum text embeds) of this
    rank, for ALBEF's momentum distillation (or a teacher's embeddings) with weight
    ``alpha``; their similarities use ``momentum_temperature`` (default: ``temperature``).
    The returned similarities are this rank's images x this rank's texts and vice versa
    (for hard-negative sampling), detached.
    """
    if text_ids is None:
        text_ids = image_ids
    all_text = gather_with_grad(text_embeds)
    all_image = gather_with_grad(image_embeds)
    all_img_ids, all_txt_ids = gather_no_grad(image_ids), gather_no_grad(text_ids)
    sim_i2t = image_embeds @ all_text.t() / temperature
    sim_t2i = text_embeds @ all_image.t() / temperature
    pos_i2t = (image_ids[:, None] == all_txt_ids[None, :]).float()
    pos_t2i = (text_ids[:, None] == all_img_ids[None, :]).float()
    t_i2t = pos_i2t / pos_i2t.sum(1, keepdim=True)
    t_t2i = pos_t2i / pos_t2i.sum(1, keepdim=True)
    if momentum is not None and alpha > 0:
        with torch.no_grad():
            m_img, m_txt = momentum
            mt = temperature if momentum_temperature is None else momentum_temperature
            all_m_text, all_m_image = gather_no_grad(m_txt), gather_no_grad(m_img)
            t_i2t = alpha * F.softmax(m_img @ all_m_text.t() / mt, dim=1) + (1 - alpha) * t_i2t
            t_t2i = alpha * F.softmax(m_txt @ all_m_image.t() / mt, dim=1) + (1 - alpha) * t_t2i
    loss_i2t = -(F.log_softmax(sim_i2t, dim=1) * t_i2t).sum(1).mean()
    loss_t2i = -(F.log_softmax(sim_t2i, dim=1) * t_t2i).sum(1).mean()
    r, ni, nt = _rank(), image_embeds.shape[0], text_embeds.shape[0]
    return ((loss_i2t + loss_t2i) / 2, sim_i2t[:, r * nt:(r + 1) * nt].detach(),
            sim_t2i[:, r * ni:(r + 1) * ni].detach())


def sample_hard_negatives(sim: torch.Tensor, row_ids: torch.Tensor, col_ids: torch.Tensor,
                          generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """One column per row, drawn with probability ∝ softmax(sim) over columns of another image.

    Columns whose id equals the row's id (the positive, and other captions of the same
    image) get probability zero. A row with no valid column raises ``ValueError``.
    """
    weights = F.softmax(sim.float(), dim=1) + 1e-9
    weights = weights.masked_fill(row_ids[:, None] == col_ids[None, :], 0.0)
    if bool((weights.sum(1) <= 0).any()):
        raise ValueError("hard-negative sampling: a row has no column of a different image; expected a batch with >= 2 images")
    # Draw on the generator's device (a CPU generator for the seeded step streams): torch.multinomial
    # rejects a CPU generator for CUDA probabilities, and drawing on the CPU keeps the negatives
    # identical on every device.
    gen_device = generator.device if generator is not None else weights.device
    picks = torch.multinomial(weights.to(gen_device), 1, generator=generator).squeeze(1)
    return picks.to(weights.device)


def itm_loss(model, image, text, sim_i2t: torch.Tensor, sim_t2i: torch.Tensor, image_ids: torch.Tensor,
             generator: Optional[torch.Generator] = None, hardness: float = 1.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """ITM cross-entropy over positives + hard negatives; returns (loss, accuracy).

    ``hardness`` scales the similarities before the softmax that draws the negatives:
    1 is ALBEF's sampling, 0 uniform over the other images (a curriculum can ramp it up).
    """
    from .outputs import TextOutput

    b = image_ids.shape[0]
    with torch.no_grad():
        neg_img = sample_hard_negatives(sim_t2i * hardness, image_ids, image_ids, generator)   # per text
        neg_txt = sample_hard_negatives(sim_i2t * hardness, image_ids, image_ids, generator)   # per image
    img_tokens = torch.cat([image.tokens, image.tokens[neg_img], image.tokens], dim=0)
    txt = TextOutput(embeds=text.embeds,
                     tokens=torch.cat([text.tokens, text.tokens, text.tokens[neg_txt]], dim=0),
                     attention_mask=torch.cat([text.attention_mask, text.attention_mask, text.attention_mask[neg_txt]], dim=0))
    logits = model.fuse(img_tokens, txt).itm_logits
    labels = torch.cat([torch.ones(b), torch.zeros(2 * b)]).long().to(logits.device)
    loss = F.cross_entropy(logits.float(), labels)
    acc = (logits.argmax(1) == labels).float().mean()
    return loss, acc


def mask_tokens(input_ids: torch.Tensor, attention_mask: torch.Tensor, mask_token_id: int, vocab_size: int,
                special_ids: Sequence[int], prob: float = 0.15,
                generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: returns (masked ids, labels with -100 where not selected)."""
    ids = input_ids.clone()
    labels = input_ids.clone()
    can = attention_mask.bool().clone()
    for s in special_ids:
        can &= input_ids != s
    u = torch.rand(ids.shape, generator=generator)
    selected = (u < prob) & can
    labels[~selected] = IGNORE
    r = torch.rand(ids.shape, generator=generator)
    ids[selected & (r < 0.8)] = mask_token_id
    rand_pos = selected & (r >= 0.8) & (r < 0.9)
    random_ids = torch.randint(len(special_ids), vocab_size, ids.shape, generator=generator)
    ids[rand_pos] = random_ids[rand_pos]
    return ids, labels


def mlm_loss(model, image, masked_text, labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of the fusion encoder's predictions at the selected tokens; (loss, accuracy)."""
    hidden = model.fuse(image, masked_text).hidden_states
    sel = labels != IGNORE
    if not bool(sel.any()):
        zero = hidden.sum() * 0.0
        return zero, zero.detach()
    logits = model.mlm_logits(hidden[sel]).float()
    target = labels[sel]
    return F.cross_entropy(logits, target), (logits.argmax(-1) == target).float().mean()


def patch_labels(semantic: torch.Tensor, grid: int) -> torch.Tensor:
    """(B, H, W) integer category map -> (B, grid*grid) majority category of each patch."""
    b, h, w = semantic.shape
    if h != w or h % grid:
        semantic = F.interpolate(semantic[:, None].float(), size=(grid * max(1, h // grid),) * 2, mode="nearest")[:, 0].long()
        b, h, w = semantic.shape
    ps = h // grid
    patches = semantic.view(b, grid, ps, grid, ps).permute(0, 1, 3, 2, 4).reshape(b, grid * grid, ps * ps)
    return patches.long().mode(dim=-1).values


def sample_patch_mask(batch: int, patches: int, ratio: float, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """(B, P) bool with exactly ``round(ratio * P)`` (at least one) patches set per image."""
    k = max(1, int(round(ratio * patches)))
    order = torch.rand(batch, patches, generator=generator).argsort(dim=1)
    mask = torch.zeros(batch, patches, dtype=torch.bool)
    mask.scatter_(1, order[:, :k], True)
    return mask


def mrc_loss(model, image, labels: torch.Tensor, patch_mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of the category of the masked patches; (loss, accuracy)."""
    logits = model.region_logits(image)[patch_mask].float()
    target = labels[patch_mask]
    return F.cross_entropy(logits, target), (logits.argmax(-1) == target).float().mean()
