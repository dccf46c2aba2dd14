"""VLN-CE's Seq2Seq baseline: one GRU over [instruction, RGB, depth, previous action]."""
from __future__ import annotations

import torch
from torch import nn

from .config import PolicyConfig
from .base import NUM_ACTIONS, Policy
from .registry import POLICIES


@POLICIES.register("seq2seq", config=PolicyConfig)
class Seq2SeqPolicy(Policy):
    """Pooled instruction + pooled RGB + pooled depth (+ pooled semantic) + previous action -> GRU -> action.

    No attention: ``act`` reports ``attention=None``.
    """

    num_recurrent_layers = 1

    def __init__(self, config, vocab_size: int, clip=None, word_list=None):
        super().__init__(config, vocab_size, clip, word_list)
        H = self.hidden_size
        self.rgb_fc = nn.Sequential(nn.Linear(self.rgb_pooled_in, config.rgb_dim), nn.ReLU()) if clip is not None else None
        rgb_dim = config.rgb_dim if clip is not None else 0
        sem_dim = self.semantic_encoder.output_dim if self.semantic_encoder is not None else 0
        in_dim = self.instruction_pooled_dim + rgb_dim + self.depth_encoder.output_dim + sem_dim + config.prev_action_dim
        self.gru = nn.GRUCell(in_dim, H)
        self.action_head = nn.Linear(H, NUM_ACTIONS)
        self.progress_head = nn.Linear(H, 1) if config.progress_monitor else None

    def _core(self, frame, instruction, hidden, prev_actions, masks):
        text_pooled = instruction[2]
        m = (masks > 0).to(hidden.dtype).view(-1, 1)
        parts = [text_pooled]
        if self.rgb_fc is not None:
            parts.append(self.rgb_fc(frame["rgb_pooled"]))
        parts.append(frame["depth_pooled"])
        if self.semantic_encoder is not None:
            parts.append(frame["semantic_pooled"])
        parts.append(self.prev_action_features(prev_actions, masks))
        h = self.gru(torch.cat(parts, dim=1), hidden[:, 0] * m)
        logits = self.action_head(h)
        progress = torch.tanh(self.progress_head(h)).squeeze(-1) if self.progress_head is not None else None
        return logits, progress, h.unsqueeze(1), None
