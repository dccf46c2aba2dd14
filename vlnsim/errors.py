"""Exceptions raised by vlnsim.

Every error names the offending file, field or value and what was expected. They all
derive from ``VlnsimError`` and from the built-in exception a caller would naturally
catch (``ValueError`` for bad values, ``FileNotFoundError`` for missing files).
"""
from __future__ import annotations


class VlnsimError(Exception):
    """Base class of all vlnsim errors."""


class SceneFileError(VlnsimError, ValueError):
    """A scene file is unreadable, corrupt, empty or holds invalid geometry."""


class SceneNotFoundError(VlnsimError, FileNotFoundError):
    """A scene file (or its directory) does not exist."""


class ConfigError(VlnsimError, ValueError):
    """A configuration value (sensor, agent, env, trainer) is out of range or mistyped."""


class InvalidPoseError(VlnsimError, ValueError):
    """A position or rotation is not finite, not unit-length, or outside the scene."""


class InvalidActionError(VlnsimError, ValueError):
    """An action id outside the action space."""


class EpisodeFormatError(VlnsimError, ValueError):
    """An episode file is malformed: bad JSON, missing or mistyped fields."""


class GenerationError(VlnsimError, RuntimeError):
    """A dataset generation request cannot be met (e.g. distance range no house allows)."""


class DatasetFormatError(VlnsimError, ValueError):
    """A dataset annotation file (COCO, Karpathy, VQA, CLEVR) does not match its schema."""


class CheckpointError(VlnsimError, ValueError):
    """A checkpoint is missing, truncated or corrupted (safetensors, trainer_state.json, latest.json)."""


class ResourceLimitError(VlnsimError, MemoryError):
    """A request would need more memory than the configured budget (e.g. a navigation grid too fine for a huge scene)."""
