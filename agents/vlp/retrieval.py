"""Image-text retrieval for evaluating pretraining: ITC ranking, ITM re-ranking, recall@K.

Recall is computed as ALBEF/BLIP report it: image->text counts a hit when any of the
image's captions is in the top K; text->image when the caption's own image is.
"""
from __future__ import annotations

from typing import Dict, Sequence

import torch


def retrieval_metrics(sim: torch.Tensor, text_owner: torch.Tensor, ks: Sequence[int] = (1, 5, 10)) -> Dict[str, float]:
    """R@K both ways from an (N_images, N_texts) score matrix; ``text_owner[j]`` = image row of text j."""
    sim = sim.float()
    n_img, n_txt = sim.shape
    owner = text_owner.long()
    out: Dict[str, float] = {}
    # text -> image: rank of the owner image among all images, per text
    own_score = sim[owner, torch.arange(n_txt)]
    t2i_rank = (sim > own_score[None, :]).sum(0)            # images strictly better than the right one
    # image -> text: best rank over the image's captions
    pos = owner[None, :] == torch.arange(n_img)[:, None]    # (N_img, N_txt)
    ranks = sim.argsort(dim=1, descending=True).argsort(dim=1)
    i2t_rank = torch.where(pos, ranks, torch.full_like(ranks, n_txt)).min(1).values
    for k in ks:
        out[f"r{k}_t2i"] = float((t2i_rank < k).float().mean())
        out[f"r{k}_i2t"] = float((i2t_rank < k).float().mean())
    return out


@torch.no_grad()
def itm_rerank(model, image_tokens: torch.Tensor, text_out, sim: torch.Tensor, k: int = 16,
               batch: int = 256, device="cpu") -> torch.Tensor:
    """ITM re-ranking of the ITC top-k, as ALBEF evaluates retrieval.

    Returns ``(i2t, t2i)``, two (N_images, N_texts) score matrices: in ``i2t`` each
    image's top-k texts by ITC carry their ITM score (logit of "match" minus "no
    match") and every other text its ITC score minus 1e4 (below them, in ITC order);
    ``t2i`` likewise per text column.
    Rank image->text with ``i2t`` and text->image with ``t2i``.
    """
    from .outputs import TextOutput

    n_img, n_txt = sim.shape
    # candidates outside the top k keep their ITC order, below every re-ranked one
    i2t = sim.float() - 1e4
    t2i = sim.float() - 1e4
    pairs_i2t = [(i, int(j)) for i in range(n_img) for j in sim[i].topk(min(k, n_txt)).indices]
    pairs_t2i = [(int(i), j) for j in range(n_txt) for i in sim[:, j].topk(min(k, n_img)).indices]
    todo = sorted(set(pairs_i2t) | set(pairs_t2i))
    scores = {}
    for s in range(0, len(todo), batch):
        chunk = todo[s:s + batch]
        ii = torch.tensor([p[0] for p in chunk])
        jj = torch.tensor([p[1] for p in chunk])
        txt = TextOutput(embeds=None, tokens=text_out.tokens[jj].to(device), attention_mask=text_out.attention_mask[jj].to(device))
        logits = model.fuse(image_tokens[ii].to(device), txt).itm_logits.float()
        val = (logits[:, 1] - logits[:, 0]).cpu()
        for p, v in zip(chunk, val.tolist()):
            scores[p] = v
    for (i, j) in pairs_i2t:
        i2t[i, j] = scores[(i, j)]
    for (i, j) in pairs_t2i:
        t2i[i, j] = scores[(i, j)]
    return i2t, t2i
