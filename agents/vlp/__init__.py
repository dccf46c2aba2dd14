"""Vision-language pretraining: the encoder stack (``VLPModel``), its objectives and trainer.

``VLPModel`` (``model.py``) is the API the navigation agents and the task heads use;
``objectives.py`` holds ITC / ITM / MLM / MRC and momentum distillation;
``data.py`` reads the image-text corpus; ``trainer.py`` runs pretraining.
"""
from __future__ import annotations

from .config import VLPConfig
from .model import VLPModel
from .outputs import FusionOutput, ImageOutput, PretrainLosses, TextOutput

__all__ = ["VLPConfig", "VLPModel", "ImageOutput", "TextOutput", "FusionOutput", "PretrainLosses"]
