"""What every navigation policy shares: inputs, recurrent state, acting and sequence scoring.

Inputs are dicts of torch tensors with the env's observation keys (``rgb`` uint8
(B,H,W,3), ``depth`` float (B,H,W,1), ``instruction`` int64 (B,L), ``instruction_mask``
(B,L)). When the RGB tower is frozen, ``rgb_pooled`` (B,P) and ``rgb_patches`` (B,N,D)
may replace ``rgb`` (cached CLIP features); when the depth trunk is frozen,
``depth_features`` (B,C,h*w) may replace ``depth``. With ``policy.semantic.enabled``
the policy also reads ``semantic_category`` uint8 (B,H,W) (indices of
``envs.sensors.SEMANTIC_CATEGORIES``), or its cacheable grid histogram
``semantic_features`` (B, G*G, K). Recurrent state is one tensor
(B, num_recurrent_layers, hidden_size); ``masks`` (B,) are 0 at an episode's first step
(resets the state and the previous-action embedding), 1 afterwards.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..encoders import CLIPEncoder, CLIPInstructionEncoder, DepthEncoder, LSTMInstructionEncoder
from ..encoders.semantic import SemanticEncoder

NUM_ACTIONS = 4
FRAME_KEYS = ("rgb", "depth", "rgb_pooled", "rgb_patches", "depth_features", "semantic_category", "semantic_features")
Batch = Dict[str, torch.Tensor]


@dataclass
class SequenceOutput:
    """Teacher-forced outputs over a time-major sequence.

    Attributes:
        logits: (T, B, A) action logits.
        log_probs: (T, B, A) log-softmax of the logits.
        progress: (T, B) progress-monitor predictions (None without the head).
        hidden: (B, R, H) state after the last step.
    """

    logits: torch.Tensor
    log_probs: torch.Tensor
    progress: Optional[torch.Tensor]
    hidden: torch.Tensor


def masked_attention(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                     mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention of one query per row: (B,D),(B,N,D),(B,N,V) -> (B,V),(B,N)."""
    scores = torch.einsum("bd,bnd->bn", query, keys) / math.sqrt(query.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores.float(), dim=-1).to(values.dtype)
    return torch.einsum("bn,bnv->bv", weights, values), weights


def ensure_nonempty_mask(mask: torch.Tensor) -> torch.Tensor:
    """Rows with no token (an instruction ablated to padding) attend to the first pad slot."""
    mask = mask.bool()
    empty = ~mask.any(dim=1)
    if bool(empty.any()):
        mask = mask.clone()
        mask[empty, 0] = True
    return mask


def obs_to_tensors(obs: Dict[str, np.ndarray], device: torch.device, keys=None) -> Batch:
    """Numpy observation batch -> tensors on ``device`` (uint8 RGB stays uint8)."""
    out = {}
    for k, v in obs.items():
        if keys is not None and k not in keys:
            continue
        out[k] = torch.as_tensor(np.asarray(v)).to(device, non_blocking=True)
    return out


class Policy(nn.Module):
    """Base class: encoders + recurrent core + action head (+ progress monitor).

    Subclasses implement ``_core(step_inputs, instruction, hidden, prev_actions, masks)``
    for ONE time step and set ``num_recurrent_layers`` / ``hidden_size``.
    """

    num_recurrent_layers: int = 1

    def __init__(self, config, vocab_size: int, clip: Optional[CLIPEncoder], word_list: Optional[Sequence[str]] = None):
        super().__init__()
        self.config = config
        self.vocab_size = int(vocab_size)
        self.hidden_size = int(config.hidden_size)
        self.clip = clip
        dc = config.depth
        self.depth_encoder = DepthEncoder(tuple(dc.channels), dc.output_dim, dc.input_size, dc.max_depth, dc.trainable)
        if getattr(dc, "pretrained", None):  # PointNav-trained depth weights (VLN-CE's DD-PPO hand-off)
            from .pointnav import load_pretrained_depth

            load_pretrained_depth(self.depth_encoder, dc.pretrained)
        ic = config.instruction
        if ic.type == "clip":
            if clip is None:
                raise ValueError("instruction.type='clip' needs a CLIP encoder")
            self.instruction_encoder = CLIPInstructionEncoder(clip, vocab_size)
            self.instruction_pooled_dim = self.instruction_encoder.pooled_dim
        elif ic.type == "pretrained":
            from ..encoders.pretrained_text import PretrainedInstructionEncoder

            self.instruction_encoder = PretrainedInstructionEncoder(
                ic.model, word_list or [], ic.projection_dim, ic.trainable, ic.max_tokens, ic.allow_download)
            self.instruction_pooled_dim = self.instruction_encoder.pooled_dim
        else:
            self.instruction_encoder = LSTMInstructionEncoder(vocab_size, ic.embedding_dim, ic.hidden_size, ic.bidirectional)
            self.instruction_pooled_dim = self.instruction_encoder.output_dim
        self.instruction_dim = self.instruction_encoder.output_dim
        self.rgb_pooled_in = clip.projection_dim if clip is not None else 0
        self.rgb_patch_in = clip.hidden_size if clip is not None else 0
        self.prev_action_embedding = nn.Embedding(NUM_ACTIONS + 1, config.prev_action_dim)
        sc = getattr(config, "semantic", None)
        self.semantic_encoder = None
        if sc is not None and sc.enabled:
            from envs.sensors import SEMANTIC_CATEGORIES

            self.semantic_encoder = SemanticEncoder(len(SEMANTIC_CATEGORIES), sc.grid, sc.embedding_dim, sc.output_dim)

    # ----- encoders -------------------------------------------------------------------
    @property
    def rgb_frozen(self) -> bool:
        """True when RGB features can be computed once and cached."""
        if self.clip is None:
            return False
        return not any(p.requires_grad for p in self.clip.model.vision_model.parameters())

    @property
    def depth_frozen(self) -> bool:
        """True when the depth trunk's features can be computed once and cached."""
        return not self.depth_encoder.trainable

    def encode_rgb(self, batch: Batch) -> Tuple[torch.Tensor, torch.Tensor]:
        """(pooled (N,P), patches (N,K,D)) from cached features or by running CLIP."""
        if "rgb_pooled" in batch:
            return batch["rgb_pooled"].float(), batch["rgb_patches"].float()
        f = self.clip.encode_image(batch["rgb"])
        return f.pooled, f.patches

    def encode_instruction(self, batch: Batch):
        """(token features (B,L,D), mask (B,L) bool, pooled (B,D)) of the instruction."""
        mask = ensure_nonempty_mask(batch["instruction_mask"])
        return self.instruction_encoder(batch["instruction"], mask)

    def encode_frames(self, batch: Batch) -> Dict[str, torch.Tensor]:
        """Per-frame visual features for a flat (N, ...) batch."""
        if "depth_features" in batch:  # cached output of a frozen depth trunk
            depth_spatial = batch["depth_features"].float()
        else:
            depth_spatial = self.depth_encoder.spatial_features(batch["depth"])
        depth_pooled = self.depth_encoder.pool_features(depth_spatial)
        out = {"depth_spatial": depth_spatial.transpose(1, 2), "depth_pooled": depth_pooled}
        if self.clip is not None:  # a depth-only policy has no RGB tower
            out["rgb_pooled"], out["rgb_patches"] = self.encode_rgb(batch)
        if self.semantic_encoder is not None:
            out["semantic_spatial"], out["semantic_pooled"] = self.semantic_encoder(self.semantic_histogram(batch))
        return self.project_frames(out)

    def semantic_histogram(self, batch: Batch) -> torch.Tensor:
        """The semantic input (B, G*G, K): cached ``semantic_features`` or pooled from ``semantic_category``."""
        if "semantic_features" in batch:
            return batch["semantic_features"].float()
        if "semantic_category" not in batch:
            raise ValueError("policy.semantic.enabled but the batch has no semantic_category observation; "
                             "expected env.semantic: true")
        return self.semantic_encoder.histogram(batch["semantic_category"])

    def project_frames(self, frames: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """State-independent per-frame projections, batched over all frames (subclass hook)."""
        return frames

    def prev_action_features(self, prev_actions: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Embedding of the previous action; index 0 is the start-of-episode token."""
        idx = ((prev_actions.long() + 1) * (masks > 0).long()).clamp(0, NUM_ACTIONS)
        return self.prev_action_embedding(idx)

    # ----- interface ------------------------------------------------------------------
    def initial_hidden(self, batch_size: int, device=None) -> torch.Tensor:
        """Zero recurrent state (B, R, H)."""
        device = device if device is not None else next(self.parameters()).device
        return torch.zeros(batch_size, self.num_recurrent_layers, self.hidden_size, device=device)

    def _core(self, frame, instruction, hidden, prev_actions, masks):
        raise NotImplementedError

    def act(self, obs: Batch, hidden: torch.Tensor, prev_actions: torch.Tensor, masks: torch.Tensor,
            deterministic: bool = True, generator: Optional[torch.Generator] = None, instruction=None):
        """One step for a batch: returns ``(actions (B,), hidden, extras)``.

        ``extras`` holds ``logits`` (B,A), ``progress`` (B,) or None, ``attention``
        (B,L) weights over instruction tokens (None when the policy has no attention) and
        ``instruction``, the encoded instruction, which callers may pass back on the
        episode's later steps to skip re-encoding it.
        """
        frame = self.encode_frames(obs)
        if instruction is None:
            instruction = self.encode_instruction(obs)
        logits, progress, hidden, attention = self._core(frame, instruction, hidden, prev_actions, masks)
        if deterministic:
            actions = logits.argmax(dim=-1)
        else:
            probs = torch.softmax(logits.float(), dim=-1)
            actions = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
        return actions, hidden, {"logits": logits, "progress": progress, "attention": attention, "instruction": instruction}

    def forward_sequence(self, batch: Batch, hidden: torch.Tensor, prev_actions: torch.Tensor,
                         masks: torch.Tensor) -> SequenceOutput:
        """Teacher-forced pass over time-major inputs (T, B, ...); instruction is (B, L)."""
        T, B = masks.shape
        flat = {k: v.reshape(T * B, *v.shape[2:]) for k, v in batch.items() if k in FRAME_KEYS}
        frames = self.encode_frames(flat)  # all frames at once; only the recurrent core loops
        keys = list(frames)
        # unbind (not frames[k][t]) so backward stacks T slices instead of T full-size zero fills.
        per_t = [dict(zip(keys, vals)) for vals in zip(*(frames[k].reshape(T, B, *frames[k].shape[1:]).unbind(0) for k in keys))]
        instruction = self.encode_instruction(batch)
        prev_t, masks_t = prev_actions.unbind(0), masks.unbind(0)
        logits, progress = [], []
        for t in range(T):
            frame_t = per_t[t]
            lg, pr, hidden, _ = self._core(frame_t, instruction, hidden, prev_t[t], masks_t[t])
            logits.append(lg)
            progress.append(pr)
        logits = torch.stack(logits)
        prog = torch.stack(progress) if progress[0] is not None else None
        return SequenceOutput(logits=logits, log_probs=F.log_softmax(logits.float(), dim=-1), progress=prog, hidden=hidden)

    def forward(self, batch: Batch, hidden: torch.Tensor, prev_actions: torch.Tensor, masks: torch.Tensor) -> SequenceOutput:
        """``forward_sequence`` (so DistributedDataParallel can wrap the policy)."""
        return self.forward_sequence(batch, hidden, prev_actions, masks)
