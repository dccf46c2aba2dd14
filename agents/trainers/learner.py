"""The gradient side of imitation learning: policy (+DDP), AdamW, the IL loss, one step.

Loss (VLN-CE): inflection-weighted cross-entropy between the policy's logits and the
expert's actions, normalised by the weights, plus ``progress_loss_coef`` times the
mean squared error of the progress monitor against the ``progress`` oracle.
"""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn.functional as F

from ..policies import Policy
from ..policies.base import FRAME_KEYS
from .distributed import DistInfo, broadcast_module


def il_losses(out, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Action (weighted CE), progress (MSE) and accuracy of a SequenceOutput on a collated batch."""
    T, B = batch["masks"].shape
    logits = out.logits.float()
    ce = F.cross_entropy(logits.reshape(T * B, -1), batch["labels"].reshape(-1), reduction="none").view(T, B)
    valid = batch["valid"]
    w = batch["weights"] * valid
    res = {"action": (ce * w).sum() / w.sum().clamp(min=1e-8)}
    if out.progress is not None:
        res["progress"] = (((out.progress.float() - batch["progress"]) ** 2) * valid).sum() / valid.sum().clamp(min=1.0)
    res["accuracy"] = ((logits.argmax(-1) == batch["labels"]).float() * valid).sum() / valid.sum().clamp(min=1.0)
    return res


class Learner:
    """Holds the policy, its DDP wrapper and optimizer, and performs training steps.

    Args:
        policy: the policy (already on ``device``).
        trainer_cfg: ``TrainerConfig`` (lr, weight_decay, grad_clip, amp, progress_loss_coef).
        device: torch device.
        dist: rank information; with world_size > 1 the policy is wrapped in DDP after
            rank 0's weights are broadcast.
    """

    def __init__(self, policy: Policy, trainer_cfg, device: torch.device, dist: DistInfo = DistInfo()):
        self.policy = policy
        self.cfg = trainer_cfg
        self.device = device
        self.dist = dist
        broadcast_module(policy, dist)
        self.model = policy
        if dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [device.index] if device.type == "cuda" else None
            self.model = DDP(policy, device_ids=ids)
        self.params = [p for p in policy.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=trainer_cfg.lr, weight_decay=trainer_cfg.weight_decay)
        self.amp = bool(trainer_cfg.amp and device.type == "cuda")

    def train_step(self, batch: Dict[str, torch.Tensor]) -> Dict[str, float]:
        """One AdamW step on a collated batch; returns the losses computed before the step."""
        self.model.train()
        inputs = {k: batch[k] for k in FRAME_KEYS + ("instruction", "instruction_mask") if k in batch}
        B = batch["masks"].shape[1]
        hidden = self.policy.initial_hidden(B, self.device)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=self.amp):
            out = self.model(inputs, hidden, batch["prev_actions"], batch["masks"])
        parts = il_losses(out, batch)
        loss = parts["action"]
        if "progress" in parts:
            loss = loss + self.cfg.progress_loss_coef * parts["progress"]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_clip)
        self.optimizer.step()
        res = {k: float(v.detach()) for k, v in parts.items()}
        res["total"] = float(loss.detach())
        res.setdefault("progress", 0.0)
        return res

    @torch.no_grad()
    def loss_on(self, batch: Dict[str, torch.Tensor]) -> Dict[str, float]:
        """Losses of a batch without updating (for held-out checks)."""
        self.policy.eval()
        inputs = {k: batch[k] for k in FRAME_KEYS + ("instruction", "instruction_mask") if k in batch}
        out = self.policy.forward_sequence(inputs, self.policy.initial_hidden(batch["masks"].shape[1], self.device),
                                           batch["prev_actions"], batch["masks"])
        return {k: float(v) for k, v in il_losses(out, batch).items()}
