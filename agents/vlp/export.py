"""Hand the pretrained vision tower to the navigation agents' ``CLIPEncoder``.

``clip_model_from_vlp(dir)`` builds a ``transformers.CLIPModel`` whose vision tower and
``visual_projection`` are the VLP model's (``vision/`` and the bias-free ``image_proj``),
so ``CLIPEncoder.encode_image`` returns exactly the VLP image embedding (before L2
normalisation) and the VLP patch tokens. Its text tower is a small random CLIP text
model (the VLP text tower is a BERT with another vocabulary; navigation instructions go
through the agents' own instruction encoders).
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import torch

from vlnsim.errors import ConfigError

from .config import VLPConfig


def is_vlp_dir(path: Union[str, Path]) -> bool:
    """Whether ``path`` is a ``VLPModel.save_pretrained`` directory."""
    p = Path(path)
    return (p / "vlp_config.json").is_file() and (p / "vision" / "config.json").is_file()


def clip_model_from_vlp(path: Union[str, Path], seed: int = 0):
    """A ``CLIPModel`` carrying the VLP vision tower and image projection (see module docstring)."""
    from safetensors.torch import load_file
    from transformers import CLIPConfig, CLIPModel, CLIPVisionModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    d = Path(path)
    cfg = VLPConfig.load(d / "vlp_config.json")
    vdir = d / (cfg.vision or "vision")
    try:
        vision = CLIPVisionModel.from_pretrained(str(vdir), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{vdir}: not a CLIP vision tower ({exc}); the navigation CLIPEncoder loads CLIP vision towers only") from None
    heads = load_file(str(d / "fusion" / "model.safetensors"))
    if "image_proj.weight" not in heads:
        raise ConfigError(f"{d / 'fusion' / 'model.safetensors'}: no image_proj.weight; expected a VLPModel checkpoint")
    proj = heads["image_proj.weight"]
    text = dict(vocab_size=8192, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=256, pad_token_id=0, bos_token_id=0, eos_token_id=2)
    config = CLIPConfig(text_config=text, vision_config=vision.config.to_dict(), projection_dim=int(proj.shape[0]))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(config)
    # transformers 5 flattens CLIPVisionModel; 4.x wraps a CLIPVisionTransformer in .vision_model
    model.vision_model.load_state_dict(getattr(vision, "vision_model", vision).state_dict())
    with torch.no_grad():
        model.visual_projection.weight.copy_(proj)
    return model
