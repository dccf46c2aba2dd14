"""An encoder stack with one task head, saved as ``DIR/encoder/`` + ``DIR/head/``.

``DIR/encoder/`` is a plain ``VLPModel.save_pretrained`` directory (the fine-tuned
projections and fusion encoder); ``DIR/head/head.json`` names the task and holds the
head's settings (and the answer list / decoder vocabulary), ``DIR/head/model.safetensors``
its weights. Retrieval has no extra weights: it is the encoder's own ITC/ITM.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Optional, Union

import torch
from torch import nn

from vlnsim.errors import ConfigError
from vlnsim.io_utils import atomic_write_text

from agents.vlp import VLPModel

from .captioning import CaptionHead, CaptionHeadConfig
from .data import TASKS
from .retrieval import RetrievalHeadConfig
from .vqa import AnswerVocab, VQAHead, VQAHeadConfig

HEAD_FILE = "head.json"
WEIGHTS_FILE = "model.safetensors"


def unshared_state(module: nn.Module) -> dict:
    """State dict with every tensor copied: BERT's LM head shares storage with the word
    embeddings (and its bias with itself), which safetensors refuses to write."""
    return {k: v.detach().cpu().clone().contiguous() for k, v in module.state_dict().items()}


class TaskModel(nn.Module):
    """``encoder`` (a VLPModel) + the head of ``task``."""

    def __init__(self, task: str, encoder: VLPModel, head: Optional[nn.Module], head_config,
                 answers: Optional[AnswerVocab] = None):
        super().__init__()
        if task not in TASKS:
            raise ConfigError(f"task={task!r}; expected one of {list(TASKS)}")
        self.task = task
        self.encoder = encoder
        self.head = head
        self.head_config = head_config
        self.answers = answers

    @classmethod
    def build(cls, task: str, encoder: VLPModel, head_config, answers: Optional[AnswerVocab] = None,
              caption_vocab=None, seed: int = 0) -> "TaskModel":
        """A new (randomly initialised, seeded) head on ``encoder``."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if task == "vqa":
                if answers is None:
                    raise ConfigError("a VQA head needs its answer vocabulary (AnswerVocab)")
                head = VQAHead(encoder.config.fusion_hidden, len(answers), head_config.hidden_mult, head_config.dropout,
                               inputs=head_config.inputs, image_positions=head_config.image_positions,
                               image_width=encoder.vision_hidden, image_tokens=encoder.grid ** 2 + 1,
                               extra_layers=head_config.extra_layers, fusion_config=encoder.fusion_config)
            elif task == "caption":
                head = CaptionHead(head_config, encoder.tokenizer, encoder.vision_hidden, encoder.text, caption_vocab)
            else:
                head = None
        return cls(task, encoder, head, head_config, answers)

    def save_pretrained(self, save_dir: Union[str, Path]) -> Path:
        from safetensors.torch import save_file

        d = Path(save_dir)
        self.encoder.save_pretrained(d / "encoder")
        (d / "head").mkdir(parents=True, exist_ok=True)
        meta = {"task": self.task, "config": dataclasses.asdict(self.head_config)}
        if self.answers is not None:
            meta["answers"] = self.answers.answers
        if isinstance(self.head, CaptionHead):
            meta["vocab_ids"] = self.head.vocab_ids
        if self.head is not None:
            state = unshared_state(self.head)
            save_file(state, str(d / "head" / WEIGHTS_FILE), metadata={"format": "pt"})
        atomic_write_text(d / "head" / HEAD_FILE, json.dumps(meta, indent=1))
        return d

    @classmethod
    def from_pretrained(cls, load_dir: Union[str, Path]) -> "TaskModel":
        from safetensors.torch import load_file

        d = Path(load_dir)
        path = d / "head" / HEAD_FILE
        if not path.is_file():
            raise ConfigError(f"{d}: no head/{HEAD_FILE}; expected a `vlnsim finetune` output directory")
        try:
            meta = json.loads(path.read_text())
            task = meta["task"]
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"{path}: unreadable head description ({exc})") from None
        encoder = VLPModel.from_pretrained(d / "encoder")
        cfg_cls = {"retrieval": RetrievalHeadConfig, "vqa": VQAHeadConfig, "caption": CaptionHeadConfig}[task]
        head_config = cfg_cls(**meta.get("config", {}))
        answers = AnswerVocab(meta["answers"]) if task == "vqa" else None
        model = cls.build(task, encoder, head_config, answers=answers, caption_vocab=meta.get("vocab_ids"))
        if model.head is not None:
            state = load_file(str(d / "head" / WEIGHTS_FILE))
            missing, unexpected = model.head.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise ConfigError(f"{d / 'head' / WEIGHTS_FILE}: missing {missing[:4]}, unexpected {unexpected[:4]}; "
                                  f"expected the weights described by {path}")
        return model
