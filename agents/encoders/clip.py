"""CLIP image and text towers over ``transformers.CLIPModel``.

The model is always loaded with ``from_pretrained``: from a hub name (resolved from the
local Hugging Face cache only unless the caller allows downloads) or from a local
directory written by ``save_pretrained`` (``local_files_only=True``), so no code path
assumes network access. ``build_tiny_clip`` writes a small random CLIP for tests and
CPU demos.

Word-vocabulary ids: the environments give instructions as ids of the dataset's word
list (0 = ``<PAD>``). A tiny CLIP built with ``vocab_size = len(word_list)`` and
``max_position_embeddings >= max_instruction_length`` reads those ids directly with its
text tower; a hub CLIP (BPE vocabulary, 77 positions) needs its own tokenizer instead.
Because CLIP's own text pooling looks for a BPE end-of-text id that word-vocabulary
sequences do not contain, ``encode_text`` pools the state of the last real token (the
position CLIP's EOS pooling selects for its own tokenizer's output).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from vlnsim.errors import ConfigError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass
class ImageFeatures:
    """Image features: ``pooled`` (B, projection_dim), ``patches`` (B, P, hidden)."""

    pooled: torch.Tensor
    patches: torch.Tensor


@dataclass
class TextFeatures:
    """Text features: ``tokens`` (B, L, hidden), ``pooled`` (B, projection_dim)."""

    tokens: torch.Tensor
    pooled: torch.Tensor


def load_clip_model(name_or_path: Union[str, Path], allow_download: bool = False):
    """Load a ``CLIPModel`` from a local directory or a hub name (cache only by default).

    A ``vlnsim pretrain`` output directory (``vlp_config.json``, ``vision/``) gives its
    pretrained vision tower and image projection (``agents.vlp.export``).
    """
    from transformers import CLIPModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one bar per load would flood training logs
    path = Path(name_or_path)
    if path.is_dir() and (path / "vlp_config.json").is_file():
        # a pretrained VLP encoder (vlnsim pretrain): its vision tower + image projection
        from agents.vlp.export import clip_model_from_vlp

        return clip_model_from_vlp(path)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"CLIP directory {str(path)!r} has no config.json; expected a save_pretrained() output")
        return CLIPModel.from_pretrained(str(path), local_files_only=True)
    try:
        return CLIPModel.from_pretrained(str(name_or_path), local_files_only=not allow_download)
    except OSError as exc:
        raise ConfigError(
            f"CLIP model {str(name_or_path)!r} is neither a local directory nor in the Hugging Face cache "
            f"(downloads disabled); expected a save_pretrained() directory or a cached hub name ({exc})"
        ) from None


def build_tiny_clip(
    save_dir: Union[str, Path],
    vocab_size: int = 1000,
    image_size: int = 64,
    patch_size: int = 16,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    projection_dim: int = 32,
    max_position_embeddings: int = 256,
    seed: int = 0,
) -> Path:
    """Build a small random CLIPModel and save it (weights + config) in Hugging Face format."""
    from transformers import CLIPConfig, CLIPModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if image_size % patch_size:
        raise ConfigError(f"build_tiny_clip: image_size={image_size} is not a multiple of patch_size={patch_size}")
    text = dict(
        vocab_size=int(vocab_size), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers, num_attention_heads=num_heads,
        max_position_embeddings=max_position_embeddings, pad_token_id=0, bos_token_id=0, eos_token_id=2,
    )
    vision = dict(
        image_size=image_size, patch_size=patch_size, hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers, num_attention_heads=num_heads, num_channels=3,
    )
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=projection_dim)
    # Seed a private generator state so building is deterministic without touching callers' RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(config)
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(save_dir))
    return save_dir


def _pooled(output) -> torch.Tensor:
    # transformers < 5 returns a tensor from get_*_features, 5.x an output object.
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class CLIPEncoder(nn.Module):
    """CLIP image/text encoder; frozen (eval, no grad) or trainable.

    Args:
        name_or_path: hub name or ``save_pretrained`` directory.
        trainable: when False the weights are frozen and the tower always runs in eval mode.
        allow_download: let ``from_pretrained`` fetch a hub name that is not cached.
        patch_grid: average-pool the patch tokens to a ``patch_grid`` x ``patch_grid`` grid
            (fewer, coarser tokens: less to cache, store and attend over); None keeps them.
    """

    def __init__(self, name_or_path: Union[str, Path, dict], trainable: bool = False, allow_download: bool = False,
                 patch_grid: Optional[int] = None):
        super().__init__()
        if isinstance(name_or_path, dict):
            # Architecture only (weights come from a checkpoint's state dict afterwards).
            from transformers import CLIPConfig, CLIPModel

            self.model = CLIPModel(CLIPConfig.from_dict(name_or_path))
        else:
            self.model = load_clip_model(name_or_path, allow_download=allow_download)
        self.trainable = bool(trainable)
        vc = self.model.config.vision_config
        tc = self.model.config.text_config
        self.image_size = int(vc.image_size)
        self.patch_size = int(vc.patch_size)
        side = self.image_size // self.patch_size
        if patch_grid is not None and not 1 <= int(patch_grid) <= side:
            raise ConfigError(f"policy.vision.patch_grid={patch_grid!r}; expected an integer in [1, {side}] "
                              f"(the tower has {side}x{side} patches) or null")
        self.patch_grid = None if patch_grid is None or int(patch_grid) == side else int(patch_grid)
        self.num_patches = (self.patch_grid or side) ** 2
        self.hidden_size = int(vc.hidden_size)
        self.text_hidden_size = int(tc.hidden_size)
        self.projection_dim = int(self.model.config.projection_dim)
        self.vocab_size = int(tc.vocab_size)
        self.max_text_length = int(tc.max_position_embeddings)
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)
        if not self.trainable:
            self.model.requires_grad_(False)
            self.model.eval()

    def config_dict(self) -> dict:
        """The CLIP architecture as a plain dict (rebuilds the module without the weights)."""
        return self.model.config.to_dict()

    def train(self, mode: bool = True):
        """Keep a frozen tower in eval mode whatever the parent module does."""
        super().train(mode)
        if not self.trainable:
            self.model.eval()
        return self

    def preprocess(self, rgb: torch.Tensor) -> torch.Tensor:
        """uint8 (B,H,W,3) -> normalised float (B,3,S,S) at the model's image size."""
        if rgb.dim() != 4 or rgb.shape[-1] != 3:
            raise ValueError(f"rgb batch has shape {tuple(rgb.shape)}; expected (B, H, W, 3)")
        x = rgb.permute(0, 3, 1, 2).float().div_(255.0)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std

    def encode_image(self, rgb: torch.Tensor) -> ImageFeatures:
        """Pooled (projected) and patch-token features of a uint8 (B,H,W,3) batch."""
        pixels = self.preprocess(rgb)
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            out = self.model.vision_model(pixel_values=pixels, return_dict=True)
            pooled = self.model.visual_projection(out.pooler_output)
            # Patch tokens (CLS dropped) after the final layer norm, in the tower's width.
            patches = self.model.vision_model.post_layernorm(out.last_hidden_state[:, 1:])
            if self.patch_grid is not None:
                B, N, D = patches.shape
                side = int(round(N ** 0.5))
                grid = patches.transpose(1, 2).reshape(B, D, side, side)
                patches = F.adaptive_avg_pool2d(grid, self.patch_grid).flatten(2).transpose(1, 2)
        return ImageFeatures(pooled=pooled, patches=patches)

    def image_features(self, rgb: torch.Tensor) -> torch.Tensor:
        """The projected image embedding, through CLIPModel.get_image_features."""
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            return _pooled(self.model.get_image_features(pixel_values=self.preprocess(rgb)))

    def encode_text(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> TextFeatures:
        """Token-level (B,L,hidden) and pooled projected (B,proj) features of token ids."""
        input_ids = input_ids.long()
        if attention_mask is None:
            attention_mask = (input_ids != 0).long()
        if input_ids.shape[1] > self.max_text_length:
            input_ids = input_ids[:, : self.max_text_length]
            attention_mask = attention_mask[:, : self.max_text_length]
        attention_mask = attention_mask.long()
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            out = self.model.text_model(input_ids=input_ids, attention_mask=attention_mask, return_dict=True)
            tokens = out.last_hidden_state
            last = (attention_mask.sum(1) - 1).clamp(min=0)
            pooled = tokens[torch.arange(tokens.shape[0], device=tokens.device), last]
            pooled = self.model.text_projection(pooled)
        return TextFeatures(tokens=tokens, pooled=pooled)
