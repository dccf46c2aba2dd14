"""Navigation policies (registered in ``POLICIES``: Seq2Seq, CMA, ...) and the builder used by trainers and evaluation."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

from .base import NUM_ACTIONS, Policy, SequenceOutput, masked_attention, obs_to_tensors
from .cma import CMAPolicy
from .registry import POLICIES
from .seq2seq import Seq2SeqPolicy


def build_policy(config, vocab_size: int, clip_source: Optional[Union[str, Path, dict]] = None,
                 word_list: Optional[Sequence[str]] = None) -> Policy:
    """Build the ``POLICIES`` entry named by ``config.type`` from its config.

    ``clip_source`` is a CLIP path/hub name or config dict; ``word_list`` the dataset's
    word list (needed by ``instruction.type: pretrained`` to decode word ids).
    """
    from ..encoders import CLIPEncoder

    clip = None
    if clip_source is not None:
        v = config.vision
        trainable = bool(v.trainable or (config.instruction.type == "clip" and config.instruction.trainable))
        clip = CLIPEncoder(clip_source, trainable=trainable, allow_download=v.allow_download,
                           patch_grid=getattr(v, "patch_grid", None))
        if trainable and config.instruction.type != "clip":
            # The text tower is unused: keep it out of the optimizer (and of DDP's reducer).
            clip.model.text_model.requires_grad_(False)
            clip.model.text_projection.requires_grad_(False)
        if trainable and not v.trainable:
            clip.model.vision_model.requires_grad_(False)
            clip.model.visual_projection.requires_grad_(False)
    cls = POLICIES.get(config.type)
    if getattr(getattr(config, "instruction", None), "type", None) == "pretrained":
        return cls(config, vocab_size, clip, word_list=word_list)
    return cls(config, vocab_size, clip)


def policy_meta(policy: Policy) -> dict:
    """Checkpoint metadata a policy's rebuild needs beside its config and weights.

    ``instruction_tower``: the resolved source and weights digest of a frozen pretrained
    text tower (kept out of the state dict); ``semantic_categories``: the category list
    the semantic input indexes.
    """
    out = {}
    enc = getattr(policy, "instruction_encoder", None)
    if hasattr(enc, "digest") and hasattr(enc, "source"):
        out["instruction_tower"] = {"source": str(enc.source), "digest": enc.digest, "trainable": bool(enc.trainable)}
    if getattr(policy, "semantic_encoder", None) is not None:
        from envs.sensors import SEMANTIC_CATEGORIES

        out["semantic_categories"] = list(SEMANTIC_CATEGORIES)
    return out


def check_policy_meta(policy: Policy, meta: dict, where: str) -> None:
    """Refuse a rebuilt policy whose frozen text tower or category list differs from the checkpoint's."""
    from vlnsim.errors import CheckpointError

    tower = meta.get("instruction_tower")
    enc = getattr(policy, "instruction_encoder", None)
    if tower and hasattr(enc, "digest") and not tower.get("trainable") and tower.get("digest") != enc.digest:
        raise CheckpointError(f"{where}: the text tower at {enc.source!r} (digest {enc.digest}) is not the one this "
                              f"checkpoint was trained with ({tower.get('source')!r}, digest {tower.get('digest')})")
    cats = meta.get("semantic_categories")
    if cats is not None and getattr(policy, "semantic_encoder", None) is not None:
        from envs.sensors import SEMANTIC_CATEGORIES

        if list(cats) != list(SEMANTIC_CATEGORIES):
            raise CheckpointError(f"{where}: trained with another semantic category list ({len(cats)} categories, "
                                  f"now {len(SEMANTIC_CATEGORIES)}); expected the same envs.sensors.SEMANTIC_CATEGORIES")


__all__ = ["NUM_ACTIONS", "Policy", "SequenceOutput", "CMAPolicy", "Seq2SeqPolicy", "POLICIES",
           "build_policy", "check_policy_meta", "masked_attention", "obs_to_tensors", "policy_meta"]
