"""Panoramic-action Seq2Seq agent for the discrete setting (R2R-EnvDrop style).

Instruction: word embedding + bidirectional LSTM -> context tokens. Each step: soft
attention of the previous state over the 36 view features gives the visual input;
an LSTM cell takes it with the previous action's feature; attention over the
instruction gives ``h~ = tanh(W [h; ctx])``; each candidate (its facing view's feature
plus [sin, cos] of relative heading and elevation; candidate 0 is a learned STOP
vector) is scored by a dot product with ``h~``, masked where padded.

Registered in ``agents.policies.registry.POLICIES`` as ``r2r_seq2seq`` (meta
``setting="discrete"``; see ``agents/policies/panoramic.py``): ``policy.type: r2r_seq2seq``
selects it; the entry is ``build_r2r_policy(config, vocab_size, clip=None, feature_dim=None)``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class R2RPolicyConfig:
    """Seq2Seq agent sizes (the ``policy:`` section with ``type: r2r_seq2seq``).

    Attributes:
        type: "r2r_seq2seq".
        embed_dim: word embedding size.
        hidden: LSTM state size (even: the instruction encoder is a BiLSTM of hidden/2).
        dropout: dropout on features and context.
        feature_dim: size D of the view features; 0 = take it from the features file
            (the trainer) or the CLIP encoder's projection (``build_r2r_policy``).
    """

    type: str = "r2r_seq2seq"
    embed_dim: int = 64
    hidden: int = 128
    dropout: float = 0.1
    feature_dim: int = 0

    def validate(self, where: str = "policy") -> None:
        """Range checks (types are checked by the loader)."""
        from vlnsim.config import check_int, check_number
        from vlnsim.errors import ConfigError

        check_int(f"{where}.embed_dim", self.embed_dim, 1)
        check_int(f"{where}.hidden", self.hidden, 2)
        if self.hidden % 2:
            raise ConfigError(f"{where}.hidden={self.hidden}; expected an even number (BiLSTM of hidden/2 per direction)")
        check_number(f"{where}.dropout", self.dropout, 0.0, 1.0)
        check_int(f"{where}.feature_dim", self.feature_dim, 0)


class R2RSeq2SeqPolicy(nn.Module):
    """Scores STOP + K candidates from panorama features and an instruction."""

    def __init__(self, vocab_size: int, feature_dim: int, cfg: R2RPolicyConfig = R2RPolicyConfig()):
        super().__init__()
        h = cfg.hidden
        self.cfg = cfg
        self.embed = nn.Embedding(vocab_size, cfg.embed_dim, padding_idx=0)
        self.encoder = nn.LSTM(cfg.embed_dim, h // 2, batch_first=True, bidirectional=True)
        self.cand_dim = feature_dim + 4
        self.view_key = nn.Linear(feature_dim, h)
        self.cell = nn.LSTMCell(feature_dim + self.cand_dim, h)
        self.text_attn = nn.Linear(h, h)
        self.mix = nn.Linear(2 * h, h)
        self.cand_proj = nn.Linear(self.cand_dim, h)
        self.stop = nn.Parameter(torch.zeros(self.cand_dim))
        self.drop = nn.Dropout(cfg.dropout)

    def encode(self, tokens: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """Context (B, L, H) and the initial state."""
        ctx, _ = self.encoder(self.drop(self.embed(tokens)))
        m = mask.float().unsqueeze(-1)
        mean = (ctx * m).sum(1) / m.sum(1).clamp(min=1)
        return ctx, (mean, torch.zeros_like(mean))

    def candidate_features(self, obs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, K+1, F+4): STOP then each candidate's facing-view feature and geometry."""
        feats = obs["features"]
        idx = obs["candidate_view"].long().unsqueeze(-1).expand(-1, -1, feats.shape[-1])
        cand = torch.cat([torch.gather(feats, 1, idx), obs["candidates"]], dim=-1)
        stop = self.stop.expand(cand.shape[0], 1, -1)
        return torch.cat([stop, cand], dim=1)

    def step(self, obs: Dict[str, torch.Tensor], ctx: torch.Tensor, ctx_mask: torch.Tensor,
             state: Tuple[torch.Tensor, torch.Tensor], prev_action_feat: torch.Tensor):
        """(logits (B, K+1), new state, candidate features (B, K+1, F+4))."""
        h, c = state
        feats = self.drop(obs["features"])
        va = torch.softmax(torch.einsum("bvh,bh->bv", self.view_key(feats), h), dim=-1)
        vis = torch.einsum("bv,bvf->bf", va, feats)
        h, c = self.cell(torch.cat([vis, prev_action_feat], dim=-1), (h, c))
        ta = torch.einsum("blh,bh->bl", ctx, self.text_attn(h)).masked_fill(~ctx_mask.bool(), -1e9)
        text = torch.einsum("bl,blh->bh", torch.softmax(ta, dim=-1), ctx)
        h_tilde = torch.tanh(self.mix(self.drop(torch.cat([h, text], dim=-1))))
        cands = self.candidate_features(obs)
        logits = torch.einsum("bkh,bh->bk", self.cand_proj(cands), h_tilde)
        valid = torch.cat([torch.ones_like(obs["candidate_mask"][:, :1]), obs["candidate_mask"]], dim=1).bool()
        return logits.masked_fill(~valid, -1e9), (h, c), cands


def build_r2r_policy(config: R2RPolicyConfig, vocab_size: int, clip=None,
                     feature_dim: Optional[int] = None) -> R2RSeq2SeqPolicy:
    """The ``POLICIES["r2r_seq2seq"]`` entry: ``(config, vocab_size, clip)`` as every policy.

    The view feature size is ``feature_dim`` (the features file's, passed by the
    trainer), else ``config.feature_dim``, else the CLIP encoder's projection size
    (features extracted with that encoder). A ``config.feature_dim`` that disagrees with
    the features file is a ``ConfigError``.
    """
    from vlnsim.errors import ConfigError

    dim = int(feature_dim or 0)
    if dim and config.feature_dim and config.feature_dim != dim:
        raise ConfigError(f"policy.feature_dim={config.feature_dim}; the features file has D={dim} "
                          "(set 0 to take it from the file)")
    dim = dim or config.feature_dim
    if not dim and clip is not None:
        dim = int(clip.config_dict().get("projection_dim", 0)) if hasattr(clip, "config_dict") else 0
    if not dim:
        raise ConfigError("policy.feature_dim=0 and no features file or CLIP encoder to take it from; "
                          "expected the view feature size D")
    return R2RSeq2SeqPolicy(vocab_size, dim, replace(config, feature_dim=dim))


def loss_and_prediction(logits: torch.Tensor, target: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy to the expert's action and the argmax prediction."""
    return F.cross_entropy(logits, target), logits.argmax(-1)
