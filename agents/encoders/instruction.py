"""Instruction encoders over word-vocabulary ids (0 = padding).

Both return token features (B, L, D) with a mask (B, L) and a pooled sentence vector
(B, D), so policies can switch between them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .clip import CLIPEncoder


class LSTMInstructionEncoder(nn.Module):
    """Word embedding + (bidirectional) LSTM, as VLN-CE's instruction encoder.

    Args:
        vocab_size: word-list size (id 0 is padding).
        embedding_dim: word embedding size.
        hidden_size: LSTM hidden size per direction.
        bidirectional: run a backward LSTM too (token features are the concatenation).
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 64, hidden_size: int = 64, bidirectional: bool = True):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.output_dim = hidden_size * (2 if bidirectional else 1)
        self.vocab_size = vocab_size

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor):
        """Return ``(token features (B,L,D), mask (B,L) bool, pooled (B,D))``."""
        tokens = tokens.long().clamp(0, self.vocab_size - 1)
        mask = mask.bool()
        lengths = mask.sum(1).clamp(min=1)
        # Trim to the longest instruction in the batch: most of the 200 slots are padding.
        L = int(lengths.max())
        tokens, mask = tokens[:, :L], mask[:, :L]
        emb = self.embedding(tokens)
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h, _) = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=L)
        pooled = torch.cat([h[-2], h[-1]], dim=1) if self.lstm.bidirectional else h[-1]
        return out, mask, pooled


class CLIPInstructionEncoder(nn.Module):
    """The CLIP text tower fed word-vocabulary ids (a tiny CLIP whose vocab is the dataset's).

    Token features are the tower's last hidden states; pooled is the projected state of
    the last real token. See ``agents.encoders.clip`` for why ids must share the vocabulary.
    """

    def __init__(self, clip: Union[CLIPEncoder, str, Path], vocab_size: int, trainable: bool = False):
        super().__init__()
        self.clip = clip if isinstance(clip, CLIPEncoder) else CLIPEncoder(clip, trainable=trainable)
        if self.clip.vocab_size < vocab_size:
            from vlnsim.errors import ConfigError

            raise ConfigError(
                f"CLIP text vocab_size={self.clip.vocab_size} < dataset vocabulary {vocab_size}; "
                "expected a CLIP built with build_tiny_clip(vocab_size=len(word_list))"
            )
        self.output_dim = self.clip.text_hidden_size
        self.pooled_dim = self.clip.projection_dim

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor):
        """Return ``(token features (B,L,D), mask (B,L) bool, pooled (B,P))``."""
        mask = mask.bool()
        L = int(mask.sum(1).max().clamp(min=1))
        L = min(L, self.clip.max_text_length)
        tokens, mask = tokens[:, :L].long(), mask[:, :L]
        feats = self.clip.encode_text(tokens, mask.long())
        return feats.tokens, mask, feats.pooled
