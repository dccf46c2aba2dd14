"""VLN-CE's Cross-Modal Attention (CMA) policy.

Step t:
1. GRU-1 over [RGB pooled, depth pooled, previous action] -> state s.
2. s attends over the instruction tokens -> attended text x.
3. x attends over the RGB patch features and over the depth spatial features (and,
   with ``policy.semantic.enabled``, over the semantic grid cells).
4. GRU-2 over [s, x, attended RGB, attended depth, (attended semantic,) previous action] -> h.

The pooled semantic embedding joins GRU-1's input beside the pooled RGB and depth.
5. Action logits from h; the progress monitor predicts tanh(w·h) ~ progress.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import PolicyConfig
from .base import NUM_ACTIONS, Policy, masked_attention
from .registry import POLICIES


@POLICIES.register("cma", config=PolicyConfig)
class CMAPolicy(Policy):
    """Cross-modal attention policy with two GRUs (recurrent state (B, 2, H))."""

    num_recurrent_layers = 2

    def __init__(self, config, vocab_size: int, clip=None, word_list=None):
        super().__init__(config, vocab_size, clip, word_list)
        H, A = self.hidden_size, config.attention_dim
        Dt = self.instruction_dim
        Dd = self.depth_encoder.spatial_dim
        self.use_rgb = clip is not None
        rgb_dim = config.rgb_dim if self.use_rgb else 0
        if self.use_rgb:
            self.rgb_fc = nn.Sequential(nn.Linear(self.rgb_pooled_in, rgb_dim), nn.ReLU())
            self.rgb_q = nn.Linear(Dt, A)
            self.rgb_k = nn.Linear(self.rgb_patch_in, A)
            self.rgb_v = nn.Sequential(nn.Linear(self.rgb_patch_in, rgb_dim), nn.ReLU())
        sem = self.semantic_encoder
        sem_pooled = sem.output_dim if sem is not None else 0
        sem_dim = sem.spatial_dim if sem is not None else 0
        if sem is not None:
            self.semantic_q = nn.Linear(Dt, A)
            self.semantic_k = nn.Linear(sem.spatial_dim, A)
        self.gru1 = nn.GRUCell(rgb_dim + self.depth_encoder.output_dim + sem_pooled + config.prev_action_dim, H)
        self.state_q = nn.Linear(H, A)
        self.text_k = nn.Linear(Dt, A)
        self.depth_q = nn.Linear(Dt, A)
        self.depth_k = nn.Linear(Dd, A)
        self.depth_v = nn.Sequential(nn.Linear(Dd, config.depth_dim), nn.ReLU())
        second_in = H + Dt + rgb_dim + config.depth_dim + sem_dim + config.prev_action_dim
        self.compress = nn.Sequential(nn.Linear(second_in, H), nn.ReLU())
        self.gru2 = nn.GRUCell(H, H)
        self.action_head = nn.Linear(H, NUM_ACTIONS)
        self.progress_head = nn.Linear(H, 1) if config.progress_monitor else None

    def project_frames(self, frames):
        """Keys/values of the visual attention and the pooled RGB embedding, for all frames at once."""
        out = dict(frames)
        if self.use_rgb:
            patches = frames["rgb_patches"]
            out["rgb_emb"] = self.rgb_fc(frames["rgb_pooled"])
            out["rgb_keys"], out["rgb_values"] = self.rgb_k(patches), self.rgb_v(patches)
        depth = frames["depth_spatial"]
        out["depth_keys"], out["depth_values"] = self.depth_k(depth), self.depth_v(depth)
        if self.semantic_encoder is not None:
            out["semantic_keys"] = self.semantic_k(frames["semantic_spatial"])
        return out

    def encode_instruction(self, batch):
        """Token features, mask, pooled vector and the token keys of the state->text attention."""
        tokens, mask, pooled = super().encode_instruction(batch)
        return tokens, mask, pooled, self.text_k(tokens)

    def _core(self, frame, instruction, hidden, prev_actions, masks):
        text_tokens, text_mask, _, text_keys = instruction
        m = (masks > 0).to(hidden.dtype).view(-1, 1)
        prev = self.prev_action_features(prev_actions, masks)
        first = [frame["depth_pooled"], prev]
        if self.semantic_encoder is not None:
            first.insert(1, frame["semantic_pooled"])
        if self.use_rgb:
            first.insert(0, frame["rgb_emb"])
        s = self.gru1(torch.cat(first, dim=1), hidden[:, 0] * m)
        text, text_weights = masked_attention(self.state_q(s), text_keys, text_tokens, text_mask)
        second = [s, text]
        if self.use_rgb:
            rgb_att, _ = masked_attention(self.rgb_q(text), frame["rgb_keys"], frame["rgb_values"])
            second.append(rgb_att)
        depth_att, _ = masked_attention(self.depth_q(text), frame["depth_keys"], frame["depth_values"])
        second.append(depth_att)
        if self.semantic_encoder is not None:
            sem_att, _ = masked_attention(self.semantic_q(text), frame["semantic_keys"], frame["semantic_spatial"])
            second.append(sem_att)
        second.append(prev)
        h = self.gru2(self.compress(torch.cat(second, dim=1)), hidden[:, 1] * m)
        logits = self.action_head(h)
        progress = torch.tanh(self.progress_head(h)).squeeze(-1) if self.progress_head is not None else None
        return logits, progress, torch.stack([s, h], dim=1), text_weights
