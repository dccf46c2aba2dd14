"""Captioning head: a BERT decoder with cross-attention to the image tokens (BLIP style).

The decoder is ``transformers.BertLMHeadModel`` with ``is_decoder=True`` (causal
self-attention) and ``add_cross_attention=True``; image tokens from the vision tower are
projected to the decoder width and passed as ``encoder_hidden_states``. Captions are
tokenised with the text tower's tokenizer as ``[CLS] prompt caption [SEP]``; the LM loss
ignores the prompt, as BLIP does. Decoding goes through ``generate()`` (greedy or beam
search with length penalty, min/max new tokens), then the prompt is cut off.

When the text tower is a BERT whose shape matches the decoder, the decoder's embeddings
and self-attention/feed-forward layers start from the text tower's weights (BLIP shares
them); the cross-attention layers and the LM head start fresh.

``vocab="train"`` restricts the decoder's input/output vocabulary to the token ids that
occur in the training captions (plus the prompt and special tokens): with a 30k-word
tokenizer and a few hundred distinct caption words this removes almost all of the LM
head's cost on a CPU. Ids are mapped to the compact range on the way in and back to
the tokenizer's ids before decoding; the kept rows of the text tower's word embeddings
seed the decoder's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
from torch import nn

from vlnsim.errors import ConfigError


@dataclass
class CaptionHeadConfig:
    """Caption decoder and decoding settings."""

    num_layers: int = 2
    """Decoder layers (when initialised from the text tower: its layer count is used)."""
    num_heads: int = 4
    """Attention heads (must divide the width)."""
    hidden_size: int = 0
    """Decoder width; 0 = the text tower's width."""
    max_positions: int = 64
    """Position embeddings (prompt + caption tokens)."""
    prompt: str = "a picture of "
    """Text every caption starts with; empty for none."""
    init_from_text_tower: bool = True
    """Copy the text tower's BERT weights into the decoder when the shapes match."""
    vocab: str = "train"
    """Decoder vocabulary: "full" (the tokenizer's) or "train" (ids seen in the training captions)."""
    label_smoothing: float = 0.0
    """LM label smoothing (BLIP fine-tunes with 0.1)."""
    num_beams: int = 3
    """Beam width at decoding (1 = greedy)."""
    length_penalty: float = 1.0
    """Beam score = log-prob / length**length_penalty."""
    min_new_tokens: int = 3
    """Shortest caption (tokens after the prompt, [SEP] excluded)."""
    max_new_tokens: int = 20
    """Longest caption (tokens after the prompt, [SEP] included)."""
    meteor: bool = True
    """Score METEOR at evaluation when Java is on PATH (a Java process, ~20 s to start)."""

    def validate(self) -> None:
        if self.num_layers < 1 or self.num_heads < 1:
            raise ConfigError(f"caption.num_layers={self.num_layers}, num_heads={self.num_heads}; expected >= 1")
        if self.num_beams < 1:
            raise ConfigError(f"caption.num_beams={self.num_beams}; expected >= 1")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ConfigError(f"caption.min_new_tokens={self.min_new_tokens}, max_new_tokens={self.max_new_tokens}; "
                              "expected 0 <= min <= max")
        if self.vocab not in ("full", "train"):
            raise ConfigError(f"caption.vocab={self.vocab!r}; expected 'full' or 'train'")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"caption.label_smoothing={self.label_smoothing}; expected [0, 1)")


class CaptionHead(nn.Module):
    """Image-conditioned BERT decoder.

    Args:
        cfg: head settings.
        tokenizer: the text tower's tokenizer (needs cls/sep/pad tokens).
        image_width: width of the image tokens it cross-attends to.
        text_tower: the encoder's text BERT, to initialise from (optional).
        vocab_ids: with ``cfg.vocab == "train"``: the kept tokenizer ids (from
            :meth:`vocab_from_captions`, or a saved head's list).
    """

    def __init__(self, cfg: CaptionHeadConfig, tokenizer, image_width: int, text_tower: Optional[nn.Module] = None,
                 vocab_ids: Optional[Sequence[int]] = None):
        super().__init__()
        from transformers import BertConfig, BertLMHeadModel

        cfg.validate()
        for name in ("cls_token_id", "sep_token_id", "pad_token_id"):
            if getattr(tokenizer, name, None) is None:
                raise ConfigError(f"caption head: tokenizer has no {name.replace('_id', '')}; expected a BERT-style tokenizer")
        self.cfg = cfg
        self.tokenizer = tokenizer
        if cfg.vocab == "train":
            if vocab_ids is None:
                raise ConfigError("caption head: vocab='train' needs vocab_ids (CaptionHead.vocab_from_captions)")
            specials = [tokenizer.pad_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.unk_token_id]
            kept = sorted(set(int(i) for i in vocab_ids) | {int(i) for i in specials if i is not None})
        else:
            kept = list(range(len(tokenizer)))
        full_to_compact = torch.full((max(len(tokenizer), max(kept) + 1),), -1, dtype=torch.long)
        full_to_compact[torch.tensor(kept)] = torch.arange(len(kept))
        unk = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else tokenizer.pad_token_id
        full_to_compact[full_to_compact < 0] = int(full_to_compact[unk])
        self.register_buffer("compact_to_full", torch.tensor(kept, dtype=torch.long), persistent=False)
        self.register_buffer("full_to_compact", full_to_compact, persistent=False)
        self.vocab_ids: List[int] = kept
        tower_cfg = getattr(text_tower, "config", None)
        bert_tower = tower_cfg is not None and getattr(tower_cfg, "model_type", "") == "bert"
        share = bool(cfg.init_from_text_tower and bert_tower and tower_cfg.vocab_size == len(tokenizer)
                     and (cfg.hidden_size in (0, tower_cfg.hidden_size)))
        hidden = cfg.hidden_size or (tower_cfg.hidden_size if tower_cfg is not None else 256)
        config = BertConfig(
            vocab_size=len(kept),
            hidden_size=hidden,
            num_hidden_layers=tower_cfg.num_hidden_layers if share else cfg.num_layers,
            num_attention_heads=tower_cfg.num_attention_heads if share else cfg.num_heads,
            intermediate_size=tower_cfg.intermediate_size if share else 4 * hidden,
            max_position_embeddings=max(cfg.max_positions, tower_cfg.max_position_embeddings if share else 0),
            is_decoder=True,
            add_cross_attention=True,
            pad_token_id=self._compact(tokenizer.pad_token_id),
            bos_token_id=self._compact(tokenizer.cls_token_id),
            eos_token_id=self._compact(tokenizer.sep_token_id),
        )
        if hidden % config.num_attention_heads:
            raise ConfigError(f"caption head: width {hidden} is not divisible by num_heads={config.num_attention_heads}")
        self.decoder = BertLMHeadModel(config)
        self.initialised_from_text_tower = False
        if share:
            state = dict(text_tower.state_dict())
            key = "embeddings.word_embeddings.weight"
            state[key] = state[key][self.compact_to_full]
            missing, unexpected = self.decoder.bert.load_state_dict(state, strict=False)
            self.initialised_from_text_tower = not unexpected
        self.image_proj = nn.Identity() if image_width == hidden else nn.Linear(image_width, hidden)
        self.image_norm = nn.LayerNorm(hidden)
        prompt_ids = tokenizer(cfg.prompt, add_special_tokens=True)["input_ids"] if cfg.prompt else [tokenizer.cls_token_id, tokenizer.sep_token_id]
        # [CLS] + prompt tokens, without the trailing [SEP] (compact ids).
        self.register_buffer("prompt_ids", self.full_to_compact[torch.tensor(prompt_ids[:-1], dtype=torch.long)],
                             persistent=False)

    def _compact(self, full_id: int) -> int:
        return int(self.full_to_compact[int(full_id)])

    @staticmethod
    def vocab_from_captions(tokenizer, captions: Sequence[str], prompt: str = "") -> List[int]:
        """Tokenizer ids occurring in ``captions`` (and the prompt): the ``vocab="train"`` list."""
        ids = set()
        for s in range(0, len(captions), 1024):
            for row in tokenizer([prompt + c for c in captions[s: s + 1024]])["input_ids"]:
                ids.update(row)
        return sorted(ids)

    @property
    def prompt_length(self) -> int:
        return int(self.prompt_ids.numel())

    def image_states(self, image_tokens: torch.Tensor) -> torch.Tensor:
        """(B, T, Dv) image tokens -> (B, T, D) cross-attention memory."""
        return self.image_norm(self.image_proj(image_tokens))

    def tokenize(self, captions: Sequence[str], device=None):
        """``[CLS] prompt caption [SEP]`` ids and mask, padded to the longest."""
        texts = [self.cfg.prompt + c.strip() for c in captions]
        enc = self.tokenizer(texts, padding="longest", truncation=True, max_length=self.cfg.max_positions, return_tensors="pt")
        ids, mask = self.full_to_compact.cpu()[enc["input_ids"]], enc["attention_mask"]
        return (ids.to(device), mask.to(device)) if device is not None else (ids, mask)

    def forward(self, image_tokens: torch.Tensor, captions: Sequence[str]) -> torch.Tensor:
        """Mean LM loss of ``captions`` given their images' tokens (prompt and padding ignored)."""
        ids, mask = self.tokenize(captions, device=image_tokens.device)
        labels = ids.masked_fill(mask == 0, -100)
        labels[:, : self.prompt_length] = -100
        logits = self.decoder(
            input_ids=ids, attention_mask=mask, encoder_hidden_states=self.image_states(image_tokens), use_cache=False,
        ).logits
        # Token t predicts token t+1.
        return nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]).float(), labels[:, 1:].reshape(-1),
            ignore_index=-100, label_smoothing=self.cfg.label_smoothing,
        )

    @torch.no_grad()
    def generate(self, image_tokens: torch.Tensor, num_return_sequences: int = 1, **overrides):
        """Run ``generate()`` on a batch of images; returns its output (``return_dict_in_generate``).

        ``overrides`` replace the config's decoding settings (``num_beams``, ``length_penalty``,
        ``min_new_tokens``, ``max_new_tokens``) or add other ``generate`` arguments.
        """
        B = image_tokens.shape[0]
        memory = self.image_states(image_tokens)
        kwargs = dict(num_beams=self.cfg.num_beams, length_penalty=self.cfg.length_penalty,
                      min_new_tokens=self.cfg.min_new_tokens, max_new_tokens=self.cfg.max_new_tokens)
        kwargs.update(overrides)
        if kwargs["num_beams"] == 1:
            kwargs.pop("length_penalty")  # only meaningful for beam search
        input_ids = self.prompt_ids.to(image_tokens.device).unsqueeze(0).expand(B, -1).contiguous()
        return self.decoder.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            encoder_hidden_states=memory,
            encoder_attention_mask=torch.ones(memory.shape[:2], dtype=torch.long, device=memory.device),
            eos_token_id=self._compact(self.tokenizer.sep_token_id),
            pad_token_id=self._compact(self.tokenizer.pad_token_id),
            do_sample=False,
            num_return_sequences=num_return_sequences,
            return_dict_in_generate=True,
            output_scores=True,
            **self._cache_kwargs(),
            **kwargs,
        )

    def _cache_kwargs(self) -> dict:
        # transformers 5 makes a self-attention-only DynamicCache for a decoder-only model,
        # which BERT's cross-attention cannot use; hand generate() an encoder-decoder cache.
        import transformers

        if int(transformers.__version__.split(".")[0]) < 5:
            return {}
        from transformers.cache_utils import DynamicCache, EncoderDecoderCache

        cfg = self.decoder.config
        return {"cache": EncoderDecoderCache(DynamicCache(config=cfg), DynamicCache(config=cfg))}

    def decode(self, sequences: torch.Tensor) -> List[str]:
        """Token ids from ``generate`` -> caption strings without the prompt."""
        new = self.compact_to_full.to(sequences.device)[sequences[:, self.prompt_length:]]
        return [t.strip() for t in self.tokenizer.batch_decode(new, skip_special_tokens=True)]

    def caption(self, image_tokens: torch.Tensor, **overrides) -> List[str]:
        """One caption per image (the best beam)."""
        was_training = self.training
        self.eval()
        try:
            return self.decode(self.generate(image_tokens, **overrides).sequences)
        finally:
            self.train(was_training)
