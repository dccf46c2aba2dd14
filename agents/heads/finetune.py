"""Fine-tuning of one task head on the encoder stack (``vlnsim finetune``).

The loop is the same for the three tasks; only the batch loss differs:

* retrieval: ITC (captions of one image all positive) + ITM with hard negatives;
* vqa: the fused [CLS] of (image, question) -> answer classifier, soft-target BCE;
* caption: the image tokens -> caption decoder, LM loss.

With ``freeze_towers`` (the CPU setting) the vision and text towers are frozen and their
outputs cached once (``features.TowerCache``); the ITC projections, the fusion encoder
and the head train. AdamW with linear warm-up and cosine decay; TensorBoard scalars
under ``losses/`` and ``charts/``; safetensors checkpoints with optimizer and RNG state
for exact resume; the final model is saved under ``RUN/final`` (``TaskModel``).
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch

from vlnsim.errors import ConfigError
from vlnsim.io_utils import atomic_write_text

from agents.vlp import VLPModel

from .config import FinetuneConfig, encoder_dir, resolve_device
from .data import ImageTextSet, VQASet, load_image_text, load_vqa_set, mirror_augment
from .features import LiveFeatures, TowerCache, freeze_towers, load_images
from .retrieval import retrieval_loss
from .task_model import TaskModel
from .vqa import AnswerVocab, VQAHead


def load_encoder(cfg: FinetuneConfig) -> VLPModel:
    """The pretrained encoder, or a random one of the same architecture."""
    d = encoder_dir(cfg.encoder)
    if cfg.random_encoder:
        return VLPModel.random_like(d, seed=cfg.seed)
    return VLPModel.from_pretrained(d)


def load_split(cfg: FinetuneConfig, split: str, max_images: int, source: Optional[str] = None):
    """The task's data of one split."""
    src = source or cfg.data
    if not src:
        raise ConfigError("data is empty; expected --data DIR_OR_FILE")
    root = cfg.image_root or None
    if cfg.task == "vqa":
        return load_vqa_set(src, split, root, max_images, cfg.seed)
    return load_image_text(src, split, root, max_images, cfg.seed)


def build_features(model: VLPModel, data, frozen: bool, progress: bool = False, task: str = "",
                   vision_trainable_layers: int = 0):
    """Cached (frozen towers) or live features over a split's images and texts."""
    images = load_images(data.paths, size=model.image_size, mirrored=data.mirrored)
    if isinstance(data, VQASet):
        texts = [q["question"] for q in data.questions]
    else:  # the caption decoder reads raw captions: no text-tower states needed
        texts = data.flat()[0] if task != "caption" else []
    if frozen:
        return TowerCache(model, images, texts, progress=progress, vision_trainable_layers=vision_trainable_layers)
    return LiveFeatures(model, images, texts)


class _Batches:
    """Seeded sampling of training examples, with its state checkpointable."""

    def __init__(self, task: str, data, seed: int):
        self.task = task
        self.rng = np.random.default_rng(seed)
        if isinstance(data, ImageTextSet):
            texts, owner = data.flat()
            self.owner = np.asarray(owner)
            self.by_image = [np.flatnonzero(self.owner == i) for i in range(len(data.image_ids))]
        else:
            self.image_of = np.asarray([q["image_index"] for q in data.questions])

    def sample(self, batch_size: int):
        if self.task == "vqa":
            q = self.rng.choice(len(self.image_of), size=min(batch_size, len(self.image_of)), replace=False)
            return q, self.image_of[q]
        imgs = self.rng.choice(len(self.by_image), size=min(batch_size, len(self.by_image)), replace=False)
        texts = np.array([self.rng.choice(self.by_image[i]) for i in imgs])
        return texts, imgs


def _loss(task_model: TaskModel, features, texts: List[str], task: str, text_idx, image_idx, targets, device, cfg, gen):
    enc = task_model.encoder
    if task == "retrieval":
        img = features.images(image_idx.tolist(), device)
        txt = features.texts(text_idx.tolist(), device)
        ids = torch.as_tensor(image_idx, device=device)
        return retrieval_loss(enc, img, txt, ids, cfg.retrieval.itm_weight, generator=gen)
    if task == "vqa":
        img = features.images(image_idx.tolist(), device)
        txt = features.texts(text_idx.tolist(), device)
        logits = task_model.head.answer_logits(enc, img, txt)
        t = targets[torch.as_tensor(text_idx)].to(device)
        loss = VQAHead.loss(logits.float(), t)
        acc = t.gather(1, logits.argmax(1, keepdim=True)).mean()
        return loss, {"vqa_bce": float(loss.detach()), "vqa_train_score": float(acc)}
    img = features.images(image_idx.tolist(), device)
    loss = task_model.head(img.tokens, [texts[i] for i in text_idx.tolist()])
    return loss, {"lm": float(loss.detach())}


class _Unshared:
    """What ``save_checkpoint`` needs of a model (its state dict), without shared storage."""

    def __init__(self, module):
        self.module = module

    def state_dict(self):
        from .task_model import unshared_state

        return unshared_state(self.module)


def _lr_lambda(steps: int, warmup_fraction: float):
    warm = max(1, int(round(steps * warmup_fraction)))

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warm) / max(1, steps - warm))))

    return f


def set_fusion_dropout(task_model: TaskModel, p: float) -> None:
    """Set every dropout of the fusion encoder (and of a VQA head's extra fusion layers) to ``p``.

    The saved encoder keeps its own config: the rate only acts while this run trains."""
    parts = [task_model.encoder.fusion] + [m for m in [getattr(task_model.head, "extra", None)] if m is not None]
    for part in parts:
        for m in part.modules():
            if isinstance(m, torch.nn.Dropout):  # BERT's attention reads its rate from these too
                m.p = float(p)


def build_task_model(cfg: FinetuneConfig, encoder: VLPModel, train) -> TaskModel:
    head_cfg = {"retrieval": cfg.retrieval, "vqa": cfg.vqa, "caption": cfg.caption}[cfg.task]
    answers, vocab = None, None
    if cfg.task == "vqa":
        answers = AnswerVocab.from_annotations(train.annotations(), cfg.vqa.num_answers)
    if cfg.task == "caption" and cfg.caption.vocab == "train":
        from .captioning import CaptionHead

        vocab = CaptionHead.vocab_from_captions(encoder.tokenizer, train.flat()[0], cfg.caption.prompt)
    return TaskModel.build(cfg.task, encoder, head_cfg, answers=answers, caption_vocab=vocab, seed=cfg.seed)


def finetune(cfg: FinetuneConfig, run_dir, resume: bool = False, progress: bool = True,
             encoder: Optional[VLPModel] = None, max_steps: Optional[int] = None) -> Dict:
    """Fine-tune ``cfg.task``'s head; returns ``{"model": TaskModel, "final", "history", "global_step", "train_data"}``.

    ``max_steps`` stops after that many optimiser steps of this call (with a checkpoint;
    ``final`` is then None); ``resume`` continues from the run's latest checkpoint exactly.
    """
    from torch.utils.tensorboard import SummaryWriter

    from agents.trainers.checkpoint import load_checkpoint, restore_trainer_state, save_checkpoint

    cfg.validate()
    run_dir = Path(run_dir)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    encoder = encoder if encoder is not None else load_encoder(cfg)
    train = load_split(cfg, cfg.train_split, cfg.max_train_images)
    if cfg.mirror_augment:
        train = mirror_augment(train)
    task_model = build_task_model(cfg, encoder, train).to(device)
    if cfg.fusion_dropout >= 0:
        set_fusion_dropout(task_model, cfg.fusion_dropout)
    if cfg.freeze_towers:
        freeze_towers(encoder, cfg.vision_trainable_layers)
    features = build_features(encoder, train, cfg.freeze_towers, progress, cfg.task,
                              cfg.vision_trainable_layers if cfg.freeze_towers else 0)
    texts = [q["question"] for q in train.questions] if isinstance(train, VQASet) else train.flat()[0]
    targets = None
    if cfg.task == "vqa":
        targets = torch.stack([task_model.answers.targets(q["answers"]) for q in train.questions])
    head_params = list(task_model.head.parameters()) if task_model.head is not None else []
    head_ids = {id(p) for p in head_params}
    enc_params = [p for p in encoder.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": enc_params, "lr": cfg.lr}]
    if head_params:
        groups.append({"params": head_params, "lr": cfg.head_lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg.steps, cfg.warmup_fraction))
    batches = _Batches(cfg.task, train, cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, history = 0, []
    ckpt_root = run_dir / "checkpoints"
    if resume:
        model_t, state_t, meta = load_checkpoint(ckpt_root)
        task_model.load_state_dict(model_t, strict=False)
        restore_trainer_state(optimizer, state_t, meta, device)
        step = int(meta["global_step"])
        history = list(meta.get("history", []))
        batches.rng.bit_generator.state = meta["sampler_state"]
        gen.set_state(state_t["sampler.torch_generator"])
        scheduler.load_state_dict(meta["scheduler"])
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "finetune_config.json", json.dumps(dataclasses.asdict(cfg), indent=1))
    # purge_step drops events a crashed run logged after its last checkpoint
    writer = SummaryWriter(str(run_dir / "tb"), purge_step=step + 1 if resume else None)
    task_model.train()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, initial=step, desc=f"finetune {cfg.task}", unit="step")
    t0 = time.time()

    def checkpoint():
        meta = {"global_step": step, "task": cfg.task, "history": history,
                "sampler_state": batches.rng.bit_generator.state, "scheduler": scheduler.state_dict()}
        save_checkpoint(ckpt_root, step, _Unshared(task_model), optimizer, meta,
                        extra_tensors={"sampler.torch_generator": gen.get_state()})

    stop = cfg.steps if max_steps is None else min(cfg.steps, step + int(max_steps))
    while step < stop:
        text_idx, image_idx = batches.sample(cfg.batch_size)
        loss, parts = _loss(task_model, features, texts, cfg.task, text_idx, image_idx, targets, device, cfg, gen)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"finetune {cfg.task}: loss is {float(loss)} at step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 5.0)
        optimizer.step()
        scheduler.step()
        step += 1
        parts["loss"] = float(loss.detach())
        if step % cfg.log_every == 0 or step == cfg.steps:
            for k, v in parts.items():
                writer.add_scalar(f"losses/{k}", v, step)
            writer.add_scalar("charts/lr", scheduler.get_last_lr()[0], step)
            writer.add_scalar("charts/temperature", float(encoder.temperature.detach()), step)
            history.append({"step": step, **{k: round(v, 5) for k, v in parts.items()}})
            if bar is not None:
                bar.set_postfix({k: f"{v:.3f}" for k, v in parts.items()})
        if bar is not None:
            bar.update(1)
        if step % cfg.checkpoint_every == 0 and step < cfg.steps:
            checkpoint()
    if bar is not None:
        bar.close()
    checkpoint()
    writer.close()
    if step < cfg.steps:
        return {"model": task_model, "final": None, "history": history, "global_step": step, "train_data": train}
    final = task_model.save_pretrained(run_dir / "final")
    atomic_write_text(run_dir / "train_history.json",
                      json.dumps({"history": history, "seconds": round(time.time() - t0, 1)}, indent=1))
    return {"model": task_model, "final": str(final), "history": history, "global_step": step,
            "train_data": train}
