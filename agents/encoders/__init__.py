"""Encoders: CLIP image/text towers, a depth CNN, instruction encoders (LSTM, CLIP text, pretrained text towers) and the semantic-input encoder."""
from .clip import CLIPEncoder, ImageFeatures, TextFeatures, build_tiny_clip, load_clip_model
from .depth import DepthEncoder
from .instruction import CLIPInstructionEncoder, LSTMInstructionEncoder
from .pretrained_text import PretrainedInstructionEncoder
from .semantic import SemanticEncoder, category_histogram

__all__ = [
    "CLIPEncoder", "ImageFeatures", "TextFeatures", "build_tiny_clip", "load_clip_model",
    "DepthEncoder", "CLIPInstructionEncoder", "LSTMInstructionEncoder", "PretrainedInstructionEncoder",
    "SemanticEncoder", "category_histogram",
]
