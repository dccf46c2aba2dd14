"""Encoders: CLIP image/text towers, a depth CNN and instruction encoders."""
from .clip import CLIPEncoder, ImageFeatures, TextFeatures, build_tiny_clip, load_clip_model
from .depth import DepthEncoder
from .instruction import CLIPInstructionEncoder, LSTMInstructionEncoder

__all__ = [
    "CLIPEncoder", "ImageFeatures", "TextFeatures", "build_tiny_clip", "load_clip_model",
    "DepthEncoder", "CLIPInstructionEncoder", "LSTMInstructionEncoder",
]
