"""The pretraining loop: ITC + ITM + MLM + MRC (+ distillation), AdamW, warm-up/cosine.

One step, per rank: B images (a seeded permutation of the training split, sharded over
ranks), one caption each (seeded), a share of patches blanked (MRC), then
``itc`` (negatives gathered from all ranks), ``itm`` (hard negatives from the ITC
similarities), ``mlm`` (fusion encoder over masked captions) and ``mrc``. Gradients are
averaged over ranks with one all-reduce per step (the losses call several model
methods, so there is no single forward for ``DistributedDataParallel`` to hook).

Every random draw of a step comes from a generator seeded by ``(seed, step, rank)``,
and the batch order from ``(seed, epoch)``, so a resumed run continues exactly as an
uninterrupted one. Checkpoints: ``run_dir/checkpoints/ckpt_<step>`` (safetensors +
JSON, ``agents.trainers.checkpoint``); the final model: ``run_dir/final`` in the
``VLPModel.save_pretrained`` layout; TensorBoard in ``run_dir/tb``.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch

from vlnsim.config import to_dict
from vlnsim.errors import ConfigError

from . import objectives as obj
from .data import ImageTextData, TextFeatureCache, load_image_text
from .model import VLPModel
from .outputs import PretrainLosses, TextOutput
from .pretrain_config import PretrainConfig
from .retrieval import retrieval_metrics


def lr_at(step: int, cfg) -> float:
    """Linear warm-up then cosine decay to ``min_lr_ratio * lr``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def _step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, step, rank]).generate_state(1)[0]))


class Pretrainer:
    """Runs ``PretrainConfig``; ``train()`` returns ``{"checkpoint", "global_step", "history"}``."""

    def __init__(self, cfg: PretrainConfig, device: str = "cpu", dist_info=None, progress: bool = True):
        from agents.trainers.distributed import DistInfo

        self.cfg = cfg
        self.device = torch.device(device)
        self.dist = dist_info or DistInfo()
        self.progress = progress and self.dist.is_main
        self.run_dir = Path(cfg.run_dir)
        self.corpus = Path(cfg.data.corpus)
        capfile = self.corpus / "annotations" / f"captions_{cfg.data.train_split}.json"
        if not capfile.is_file():
            raise ConfigError(f"data.corpus={cfg.data.corpus!r}: {capfile} not found; expected a vlnsim make-corpus "
                              "directory (vlnsim make-corpus --out DIR)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # texts first: a random text tower's vocabulary is built from the training captions
        coco_train = json.loads(capfile.read_text())
        texts = [a["caption"] for a in coco_train["annotations"]]
        self.model = VLPModel.build(cfg.model, texts=texts, work_dir=self.run_dir, seed=cfg.seed).to(self.device)
        size = self.model.image_size
        root = self.corpus / "images"
        self.train_data = load_image_text(capfile, root / cfg.data.train_split, size, self.model.grid, cfg.data.train_limit)
        valfile = self.corpus / "annotations" / f"captions_{cfg.data.val_split}.json"
        self.val_data: Optional[ImageTextData] = None
        if valfile.is_file() and cfg.data.val_images > 0:
            self.val_data = load_image_text(valfile, root / cfg.data.val_split, size, self.model.grid, cfg.data.val_images)
        if self.train_data.region_labels is None and cfg.loss.mrc > 0:
            raise ConfigError(f"loss.mrc={cfg.loss.mrc} but {capfile} has no semantic maps; set loss.mrc=0 for data without them")
        self.text_frozen = not cfg.optim.text_trainable
        if self.text_frozen:
            self.model.text.requires_grad_(False)
            self.model.text.eval()
        self._broadcast_initial()  # before any feature is cached from the towers
        self.cache: Optional[TextFeatureCache] = None
        self._build_cache()
        self.teacher = self.momentum = None
        self.teacher_text: Dict[str, torch.Tensor] = {}
        if cfg.loss.distill == "momentum":
            self.momentum = copy.deepcopy(self.model).requires_grad_(False)
        elif cfg.loss.distill == "teacher":
            self._load_teacher(cfg.loss.teacher)
        decay, no_decay = [], []
        for n, p in self.model.named_parameters():
            if p.requires_grad:
                (no_decay if p.ndim < 2 or "logit_temp" in n else decay).append(p)
        self.optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.optim.weight_decay},
                                            {"params": no_decay, "weight_decay": 0.0}], lr=cfg.optim.lr)
        self.params = decay + no_decay
        self.step = 0
        self.writer = None
        self.history: List[dict] = []

    # ------------------------------------------------------------------ setup
    def _build_cache(self) -> None:
        if not self.text_frozen:
            return
        # one masked caption per training image for MLM (a frozen tower cannot re-encode per step)
        rng = np.random.default_rng([self.cfg.seed, 7])
        self.mlm_caption = [caps[int(rng.integers(len(caps)))] for caps in self.train_data.captions]
        texts = [c for caps in self.train_data.captions for c in caps]
        if self.val_data is not None:
            texts += [c for caps in self.val_data.captions for c in caps]
        with torch.no_grad():
            fc = self.cfg.data.feature_cache
            cache_dir = (self.corpus / "features") if fc == "auto" else (Path(fc) if fc else None)
            self.cache = TextFeatureCache(self.model, texts, device=self.device, masked_texts=self.mlm_caption,
                                          mlm_prob=self.cfg.loss.mlm_prob, seed=self.cfg.seed, progress=self.progress,
                                          cache_dir=cache_dir, save=self.dist.is_main)

    def _load_teacher(self, path: str) -> None:
        self.teacher = VLPModel.from_pretrained(path).to(self.device).eval().requires_grad_(False)
        texts = sorted({c for caps in self.train_data.captions for c in caps})
        with torch.no_grad():
            for i in range(0, len(texts), 256):
                chunk = texts[i:i + 256]
                emb = self.teacher.encode_text(self.teacher.tokenize(chunk, self.device)).embeds
                self.teacher_text.update(zip(chunk, emb.cpu()))

    def _broadcast_initial(self) -> None:
        if not self.dist.enabled:
            return
        from agents.trainers.distributed import broadcast_module

        broadcast_module(self.model, self.dist)

    # ------------------------------------------------------------------ batches
    def _batch_indices(self, step: int) -> torch.Tensor:
        n, b, w = len(self.train_data), self.cfg.optim.batch_size, self.dist.world_size
        per_epoch = max(1, n // (b * w))
        epoch, pos = divmod(step, per_epoch)
        order = torch.from_numpy(np.random.default_rng([self.cfg.seed, 11, epoch]).permutation(n))
        start = (pos * w + self.dist.rank) * b
        return order[start:start + b]

    def _texts(self, step: int, idx: torch.Tensor) -> List[str]:
        """``loss.itc_captions`` captions per image (grouped by image; seeded), first = ITM/MLM caption."""
        rng = np.random.default_rng([self.cfg.seed, 13, step, self.dist.rank])
        k, out = self.cfg.loss.itc_captions, []
        for i in idx.tolist():
            caps = self.train_data.captions[i]
            order = rng.permutation(len(caps)).tolist()
            out += [caps[order[j % len(order)]] for j in range(k)]
        return out

    def _encode_texts(self, texts: List[str]) -> TextOutput:
        if self.cache is not None:
            states, mask = self.cache.text_batch(texts, self.device)
            return self.model.text_output(states, mask)
        return self.model.encode_text(self.model.tokenize(texts, self.device))

    def _masked_texts(self, idx: torch.Tensor, texts: List[str], g: torch.Generator):
        if self.cache is not None:
            states, mask, labels = self.cache.masked_batch([self.mlm_caption[i] for i in idx.tolist()], self.device)
            return TextOutput(embeds=None, tokens=states, attention_mask=mask), labels
        tok = self.model.tokenizer
        enc = self.model.tokenize(texts)
        specials = [i for i in (tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.bos_token_id,
                                tok.eos_token_id, tok.unk_token_id) if i is not None]
        ids, labels = obj.mask_tokens(enc["input_ids"], enc["attention_mask"], tok.mask_token_id, len(tok),
                                      specials, self.cfg.loss.mlm_prob, g)
        mask = enc["attention_mask"].to(self.device)
        states = self.model.text_states(ids.to(self.device), mask)
        return TextOutput(embeds=None, tokens=states, attention_mask=mask), labels.to(self.device)

    # ------------------------------------------------------------------ one step
    def losses(self, step: int) -> PretrainLosses:
        """Forward every enabled objective for ``step``'s batch (no backward)."""
        c, lc = self.cfg, self.cfg.loss
        g = _step_generator(c.seed, step, self.dist.rank)
        idx = self._batch_indices(step)
        images = self.train_data.images[idx].to(self.device)
        ids = torch.as_tensor([self.train_data.image_ids[i] for i in idx.tolist()], device=self.device)
        texts = self._texts(step, idx)
        k_cap = self.cfg.loss.itc_captions
        first = texts[::k_cap]  # one caption per image for ITM / MLM
        p = self.model.grid ** 2
        patch_mask = obj.sample_patch_mask(len(idx), p, lc.mrc_ratio, g) if lc.mrc > 0 else None
        amp = self.device.type == "cuda" and c.optim.amp
        out = PretrainLosses(total=torch.zeros((), device=self.device))
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=amp):
            image = self.model.encode_image(images, patch_mask.to(self.device) if patch_mask is not None else None)
            text = self._encode_texts(texts)
            momentum, m_temp = None, None
            if self.momentum is not None or self.teacher is not None:
                with torch.no_grad():
                    if self.momentum is not None:
                        m_img = self.momentum.encode_image(images).embeds
                        m_txt = (self.momentum.text_output(*self.cache.text_batch(texts, self.device)).embeds
                                 if self.cache is not None else
                                 self.momentum.encode_text(self.momentum.tokenize(texts, self.device)).embeds)
                        m_temp = self.model.temperature.detach()
                    else:
                        m_img = self.teacher.encode_image(images).embeds
                        m_txt = torch.stack([self.teacher_text[t] for t in texts]).to(self.device)
                        m_temp = self.teacher.temperature
                    momentum = (m_img.float(), m_txt.float())
            itc, sim_i2t, sim_t2i = obj.itc_loss(image.embeds, text.embeds, ids, self.model.temperature,
                                                 momentum, lc.alpha, momentum_temperature=m_temp,
                                                 text_ids=ids.repeat_interleave(k_cap))
            if lc.itc > 0:
                out.itc = itc
                out.total = out.total + lc.itc * itc
            if lc.itm > 0:
                one = TextOutput(embeds=text.embeds[::k_cap], tokens=text.tokens[::k_cap],
                                 attention_mask=text.attention_mask[::k_cap])
                hard = min(1.0, step / lc.itm_hard_warmup) if lc.itm_hard_warmup > 0 else 1.0
                out.itm, out.itm_accuracy = obj.itm_loss(self.model, image, one, sim_i2t[:, ::k_cap],
                                                         sim_t2i[::k_cap], ids, g, hardness=hard)
                out.total = out.total + lc.itm * out.itm
            if lc.mlm > 0:
                k = lc.mlm_batch if 0 < lc.mlm_batch < len(idx) else len(idx)
                masked, labels = self._masked_texts(idx[:k], first[:k], g)
                sub = dataclasses.replace(image, tokens=image.tokens[:k])
                out.mlm, out.mlm_accuracy = obj.mlm_loss(self.model, sub, masked, labels)
                out.total = out.total + lc.mlm * out.mlm
            if lc.mrc > 0:
                labels = self.train_data.region_labels[idx].to(self.device)
                pm = patch_mask.to(self.device)
                out.mrc, out.mrc_accuracy = obj.mrc_loss(self.model, image, labels, pm)
                out.total = out.total + lc.mrc * out.mrc
                if lc.mrc_visible > 0:
                    visible, _ = obj.mrc_loss(self.model, image, labels, ~pm)
                    out.total = out.total + lc.mrc_visible * visible
        return out

    def _all_reduce_grads(self) -> None:
        if not self.dist.enabled:
            return
        import torch.distributed as dist

        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        flat = torch.cat([x.reshape(-1) for x in grads])
        dist.all_reduce(flat)
        flat /= self.dist.world_size
        offset = 0
        for p in self.params:
            n = p.numel()
            p.grad = flat[offset:offset + n].view_as(p).clone()
            offset += n

    def train_step(self) -> Dict[str, float]:
        """One optimiser step; returns the logged scalars."""
        lr = lr_at(self.step, self.cfg.optim)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        losses = self.losses(self.step)
        losses.total.backward()
        self._all_reduce_grads()
        if self.cfg.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.optim.grad_clip)
        self.optimizer.step()
        if self.momentum is not None:
            with torch.no_grad():
                m = self.cfg.loss.momentum
                for pm, p in zip(self.momentum.parameters(), self.model.parameters()):
                    pm.mul_(m).add_(p.detach(), alpha=1 - m)
        self.step += 1
        scalars = losses.scalars()
        scalars.update(lr=lr, temperature=float(self.model.temperature.detach()))
        return scalars

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self) -> Dict[str, float]:
        """Held-out ITC retrieval R@1/5/10 on the val slice."""
        if self.val_data is None:
            return {}
        self.model.eval()
        img = torch.cat([self.model.encode_image(self.val_data.images[i:i + 128].to(self.device)).embeds
                         for i in range(0, len(self.val_data), 128)])
        texts = [c for caps in self.val_data.captions for c in caps]
        owner = [k for k, caps in enumerate(self.val_data.captions) for _ in caps]
        txt = torch.cat([self._encode_texts(texts[i:i + 256]).embeds for i in range(0, len(texts), 256)])
        self.model.train()
        if self.text_frozen:
            self.model.text.eval()
        return retrieval_metrics((img @ txt.t()).float().cpu(), torch.as_tensor(owner))

    # ------------------------------------------------------------------ checkpoints
    def _ckpt_root(self) -> Path:
        return self.run_dir / "checkpoints"

    def save(self) -> Path:
        from agents.trainers.checkpoint import save_checkpoint

        extra = {}
        if self.momentum is not None:
            extra = {f"momentum.{k}": v for k, v in self.momentum.state_dict().items()}
        meta = {"step": self.step, "config": to_dict(self.cfg), "history": self.history[-50:]}
        path = save_checkpoint(self._ckpt_root(), self.step, self.model, self.optimizer, meta, extra)
        for old in sorted(self._ckpt_root().glob("ckpt_*"))[:-2]:  # keep the last two
            import shutil

            shutil.rmtree(old, ignore_errors=True)
        return path

    def resume(self) -> bool:
        """Load the latest checkpoint of ``run_dir`` if there is one; True when resumed."""
        from agents.trainers.checkpoint import load_checkpoint, optimizer_from_flat, set_rng_state

        if not (self._ckpt_root() / "latest.json").is_file():
            return False
        model_t, state_t, meta = load_checkpoint(self._ckpt_root())
        self.model.load_state_dict(model_t)
        optimizer_from_flat(self.optimizer, state_t, meta["optimizer"])
        set_rng_state(state_t, meta["rng"])
        if self.momentum is not None:
            self.momentum.load_state_dict({k[len("momentum."):]: v for k, v in state_t.items() if k.startswith("momentum.")})
        self.step = int(meta["step"])
        self.history = list(meta.get("history", []))
        return True

    # ------------------------------------------------------------------ loop
    def train(self, resume: bool = False, max_steps: Optional[int] = None) -> dict:
        """Train to ``optim.max_steps`` (or ``max_steps`` more steps); save and export."""
        from tqdm import tqdm

        if resume:
            self.resume()
        end = self.cfg.optim.max_steps if max_steps is None else min(self.cfg.optim.max_steps, self.step + max_steps)
        if self.dist.is_main:
            from torch.utils.tensorboard import SummaryWriter

            # on resume, drop events a killed run logged after its last checkpoint (no repeated steps)
            self.writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=self.step + 1 if resume else None)
        self.model.train()
        if self.text_frozen:
            self.model.text.eval()
        bar = tqdm(total=end, initial=self.step, desc="pretrain", unit="step", disable=not self.progress)
        t0, pairs0, ckpt = time.perf_counter(), self.step, None
        while self.step < end:
            s = self.train_step()
            bar.update(1)
            bar.set_postfix(loss=f"{s['total']:.3f}", t=f"{s['temperature']:.3f}")
            if self.writer is not None and (self.step % self.cfg.log_every == 0 or self.step == end):
                rate = (self.step - pairs0) * self.cfg.optim.batch_size * self.dist.world_size / (time.perf_counter() - t0)
                for k, v in s.items():
                    tag = ("losses/" if k in ("total", "itc", "itm", "mlm", "mrc") else
                           "accuracy/" if k.endswith("accuracy") else "charts/") + k
                    self.writer.add_scalar(tag, v, self.step)
                self.writer.add_scalar("charts/pairs_per_s", rate, self.step)
            if self.step % self.cfg.eval_every == 0 or self.step == end:
                m = self.evaluate()
                if self.writer is not None:
                    for k, v in m.items():
                        self.writer.add_scalar(f"eval/{k}", v, self.step)
                self.history.append(dict(step=self.step, **{k: round(v, 5) for k, v in s.items()}, **m))
            if self.dist.is_main and (self.step % self.cfg.ckpt_every == 0 or self.step == end):
                ckpt = self.save()
        bar.close()
        seconds = time.perf_counter() - t0
        if self.dist.is_main:
            if ckpt is None:
                ckpt = self.save()
            self.model.save_pretrained(self.run_dir / "final")
            summary = {"global_step": self.step, "seconds": seconds,
                       "pairs_per_s": (self.step - pairs0) * self.cfg.optim.batch_size * self.dist.world_size / max(seconds, 1e-9),
                       "history": self.history}
            (self.run_dir / "metrics.json").write_text(json.dumps(summary, indent=1))
        return {"checkpoint": str(ckpt) if ckpt else None, "global_step": self.step, "history": self.history}

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
