"""The vision-language encoder stack (ALBEF/BLIP style) and its directory format.

``VLPModel`` = a vision tower (``CLIPVisionModel``/``ViTModel``), a text tower (any
BERT-family encoder or CLIP's text tower), ITC projections with a learnable
temperature, a fusion encoder (text cross-attending to image tokens, ``fusion.py``) and
the heads: ITM (fused [CLS] -> match / no match), MLM (tied to the text tower's word
embeddings) and masked-region classification (patch tokens -> object category).

The API the task heads and the navigation agents build on::

    model = VLPModel.from_pretrained("runs/vlp_cpu/final")
    img = model.encode_image(rgb_uint8)            # ImageOutput(embeds, pooled, tokens)
    txt = model.encode_text(model.tokenize(texts)) # TextOutput(embeds, tokens, attention_mask)
    sim = model.similarity(img, txt)               # (B_img, B_txt) cosine / temperature
    fused = model.fuse(img, txt)                   # FusionOutput(hidden_states, itm_logits)
    logits = model.mlm_logits(fused.hidden_states) # (B, L, vocab)

Directory layout (``save_pretrained``)::

    DIR/vlp_config.json        VLPConfig
    DIR/vision/                Hugging Face model dir (AutoModel.from_pretrained loads it)
    DIR/text/                  Hugging Face model dir + tokenizer
    DIR/fusion/config.json     BertConfig (is_decoder=False, add_cross_attention=True)
    DIR/fusion/model.safetensors   fusion layers, projections and heads
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from vlnsim.errors import ConfigError

from .config import VLPConfig
from .fusion import FusionEncoder, fusion_bert_config
from .outputs import FusionOutput, ImageOutput, TextOutput
from .towers import load_text_tower, load_vision_tower, resolve_text_path

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class VLPModel(nn.Module):
    """Vision tower + text tower + fusion encoder + ITC/ITM/MLM/MRC heads.

    Build with ``VLPModel.build(config, texts=..., work_dir=...)`` (towers from their
    directories or random) or load with ``VLPModel.from_pretrained(dir)``.
    """

    def __init__(self, config: VLPConfig, vision: nn.Module, text: nn.Module, tokenizer):
        super().__init__()
        self.config = config
        self.vision = vision
        self.text = text
        self.tokenizer = tokenizer
        vc = vision.config
        self.image_size = int(vc.image_size)
        self.patch_size = int(vc.patch_size)
        self.grid = self.image_size // self.patch_size
        dv = int(vc.hidden_size)
        dt = int(text.config.hidden_size)
        de = int(text.get_input_embeddings().weight.shape[1])
        df, e = config.fusion_hidden, config.embed_dim
        self.vision_hidden, self.text_hidden = dv, dt
        # ITC projections (the image one bias-free, as CLIP's visual_projection, so the
        # navigation CLIPEncoder can load it as its projection)
        self.image_proj = nn.Linear(dv, e, bias=False)
        self.text_proj = nn.Linear(dt, e)
        self.logit_temp = nn.Parameter(torch.tensor(float(config.temperature)).log())
        self.fusion_config = fusion_bert_config(df, config.fusion_layers, config.fusion_heads, config.fusion_dropout)
        self.text_to_fusion = nn.Linear(dt, df)
        self.image_to_fusion = nn.Linear(dv, df)
        self.fusion = FusionEncoder(self.fusion_config)
        self.itm_head = nn.Linear(df, 2)
        self.mlm_transform = nn.Sequential(nn.Linear(df, de), nn.GELU(), nn.LayerNorm(de, eps=1e-12))
        self.mlm_bias = nn.Parameter(torch.zeros(int(text.get_input_embeddings().weight.shape[0])))
        self.mrc_head = nn.Linear(dv, config.num_region_classes)
        self.register_buffer("pixel_mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, config: VLPConfig, texts: Optional[Iterable[str]] = None, work_dir: Optional[Path] = None,
              seed: int = 0) -> "VLPModel":
        """Towers from their directories (or random), fusion and heads random (seeded)."""
        vision = load_vision_tower(config.vision, config.vision_config, seed=seed)
        text_path = resolve_text_path(config.text)
        text, tok = load_text_tower(text_path, config.text_config, texts=texts, work_dir=work_dir,
                                    max_length=config.max_text_length, seed=seed + 1)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 2)
            model = cls(dataclasses.replace(config, text=text_path), vision, text, tok)
        return model

    # ------------------------------------------------------------------ images
    @property
    def temperature(self) -> torch.Tensor:
        """The ITC temperature, clamped to [0.001, 0.5] as ALBEF does."""
        return self.logit_temp.exp().clamp(0.001, 0.5)

    def preprocess(self, rgb: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) -> CLIP-normalised float (B, 3, S, S) (same as ``CLIPEncoder``)."""
        if rgb.dim() != 4 or rgb.shape[-1] != 3:
            raise ValueError(f"rgb batch has shape {tuple(rgb.shape)}; expected (B, H, W, 3) uint8")
        x = rgb.permute(0, 3, 1, 2).float().div(255.0)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        return (x - self.pixel_mean) / self.pixel_std

    def encode_image(self, images: torch.Tensor, patch_mask: Optional[torch.Tensor] = None) -> ImageOutput:
        """Encode uint8 (B, H, W, 3) images or normalised (B, 3, S, S) pixels.

        ``patch_mask`` (B, P) bool blanks those patches (to the mean colour) before the
        tower, for masked-region classification.
        """
        pixels = self.preprocess(images) if images.dtype == torch.uint8 else images
        if patch_mask is not None:
            m = patch_mask.view(-1, 1, self.grid, self.grid).to(pixels.dtype)
            m = m.repeat_interleave(self.patch_size, 2).repeat_interleave(self.patch_size, 3)
            pixels = pixels * (1.0 - m)
        out = self.vision(pixel_values=pixels, return_dict=True)
        hidden = out.last_hidden_state
        post = getattr(getattr(self.vision, "vision_model", self.vision), "post_layernorm", None)
        if post is None:  # ViTModel: its final layer norm is already applied
            tokens = hidden
            pooled = hidden[:, 0]
        else:
            tokens = post(hidden)
            pooled = out.pooler_output
        return self.image_output(tokens, pooled)

    def image_output(self, tokens: torch.Tensor, pooled: torch.Tensor) -> ImageOutput:
        """ITC embedding of given tower outputs (cached features of a frozen tower go here)."""
        embeds = F.normalize(self.image_proj(pooled).float(), dim=-1)
        return ImageOutput(embeds=embeds, pooled=pooled, tokens=tokens)

    # ------------------------------------------------------------------ text
    def tokenize(self, texts: Sequence[str], device: Union[str, torch.device, None] = None) -> Dict[str, torch.Tensor]:
        """Tokenizer output (``input_ids``, ``attention_mask``) padded to the longest text."""
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.config.max_text_length,
                             return_tensors="pt")
        out = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        return {k: v.to(device) for k, v in out.items()} if device is not None else out

    def text_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The text tower's last hidden states (B, L, Dt)."""
        return self.text(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).last_hidden_state

    def text_output(self, tokens: torch.Tensor, attention_mask: torch.Tensor) -> TextOutput:
        """ITC embedding of given tower states (cached features of a frozen tower go here)."""
        tokens = tokens.to(self.text_proj.weight.dtype) if not torch.is_autocast_enabled() else tokens
        if self.config.text_pooling == "cls":
            pooled = tokens[:, 0]
        else:
            m = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * m).sum(1) / m.sum(1).clamp(min=1.0)
        embeds = F.normalize(self.text_proj(pooled).float(), dim=-1)
        return TextOutput(embeds=embeds, tokens=tokens, attention_mask=attention_mask)

    def encode_text(self, batch: Union[Dict[str, torch.Tensor], torch.Tensor],
                    attention_mask: Optional[torch.Tensor] = None) -> TextOutput:
        """Encode token ids (a ``tokenize`` dict, or ids + mask)."""
        if isinstance(batch, dict):
            input_ids, attention_mask = batch["input_ids"], batch["attention_mask"]
        else:
            input_ids = batch
            if attention_mask is None:
                attention_mask = (input_ids != (self.tokenizer.pad_token_id or 0)).long()
        return self.text_output(self.text_states(input_ids, attention_mask), attention_mask)

    # ------------------------------------------------------------------ cross-modal
    def similarity(self, image: Union[ImageOutput, torch.Tensor], text: Union[TextOutput, torch.Tensor]) -> torch.Tensor:
        """ITC logits: cosine similarity / temperature, (B_image, B_text)."""
        ie = image.embeds if isinstance(image, ImageOutput) else image
        te = text.embeds if isinstance(text, TextOutput) else text
        return ie @ te.t() / self.temperature

    def fuse(self, image: Union[ImageOutput, torch.Tensor], text: TextOutput) -> FusionOutput:
        """Fusion encoder over ``text`` tokens cross-attending to ``image`` tokens (paired row by row)."""
        img_tokens = image.tokens if isinstance(image, ImageOutput) else image
        t = self.text_to_fusion(text.tokens)
        v = self.image_to_fusion(img_tokens)
        hidden = self.fusion(t, text.attention_mask, v)
        return FusionOutput(hidden_states=hidden, itm_logits=self.itm_head(hidden[:, 0]))

    def itm_scores(self, image: ImageOutput, text: TextOutput) -> torch.Tensor:
        """(B,) match probability of row-paired images and texts."""
        return self.fuse(image, text).itm_score

    def mlm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits of fused token states, decoder tied to the text word embeddings."""
        h = self.mlm_transform(hidden_states)
        return h @ self.text.get_input_embeddings().weight.t() + self.mlm_bias

    def region_logits(self, image: ImageOutput) -> torch.Tensor:
        """(B, P, num_region_classes) object-category logits of every patch token."""
        return self.mrc_head(image.patches)

    # ------------------------------------------------------------------ save / load
    def _own_state(self) -> Dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith(("vision.", "text."))}

    def save_pretrained(self, save_dir: Union[str, Path]) -> Path:
        """Write the Hugging Face layout described in the module docstring (safetensors)."""
        from safetensors.torch import save_file

        d = Path(save_dir)
        (d / "fusion").mkdir(parents=True, exist_ok=True)
        self.vision.save_pretrained(str(d / "vision"))
        self.text.save_pretrained(str(d / "text"))
        self.tokenizer.save_pretrained(str(d / "text"))
        self.fusion_config.save_pretrained(str(d / "fusion"))
        state = {k: v.detach().contiguous().cpu() for k, v in self._own_state().items()}
        save_file(state, str(d / "fusion" / "model.safetensors"), metadata={"format": "pt"})
        cfg = dataclasses.replace(self.config, vision="vision", text="text").to_dict()
        (d / "vlp_config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True))
        return d

    @classmethod
    def from_pretrained(cls, load_dir: Union[str, Path], map_location: str = "cpu") -> "VLPModel":
        """Load a ``save_pretrained`` directory (no network access)."""
        from safetensors.torch import load_file

        d = Path(load_dir)
        if not (d / "vlp_config.json").is_file():
            raise ConfigError(f"{d}: no vlp_config.json; expected a VLPModel.save_pretrained() directory")
        config = VLPConfig.load(d / "vlp_config.json")
        vision = load_vision_tower(str(d / config.vision), config.vision_config)
        text, tok = load_text_tower(str(d / config.text), config.text_config)
        config = dataclasses.replace(config, vision=str(d / config.vision), text=str(d / config.text))
        model = cls(config, vision, text, tok)
        state = load_file(str(d / "fusion" / "model.safetensors"), device=map_location)
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith(("vision.", "text."))]
        if missing or unexpected:
            raise ConfigError(f"{d / 'fusion' / 'model.safetensors'}: missing {missing[:5]}, unexpected {unexpected[:5]}; "
                              "expected the weights of this vlp_config.json")
        return model

    @classmethod
    def random_like(cls, load_dir: Union[str, Path], seed: int = 0) -> "VLPModel":
        """The architecture and tokenizer of a saved model with fresh random weights (a baseline)."""
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        d = Path(load_dir)
        config = VLPConfig.load(d / "vlp_config.json")
        vcfg = AutoConfig.from_pretrained(str(d / config.vision), local_files_only=True)
        tcfg = AutoConfig.from_pretrained(str(d / config.text), local_files_only=True)
        tok = AutoTokenizer.from_pretrained(str(d / config.text), local_files_only=True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            vision = AutoModel.from_config(vcfg)
            text = AutoModel.from_config(tcfg, add_pooling_layer=False) if tcfg.model_type == "bert" else AutoModel.from_config(tcfg)
            model = cls(dataclasses.replace(config, vision=None, text=None), vision, text, tok)
        return model

    def trainable_summary(self) -> Dict[str, int]:
        """Parameter counts per part (for logs)."""
        parts = {"vision": self.vision, "text": self.text, "fusion": self.fusion}
        out = {k: sum(p.numel() for p in m.parameters()) for k, m in parts.items()}
        out["total"] = sum(p.numel() for p in self.parameters())
        return out
