"""Actor-critics for PPO: the PointNav policy as is, VLN policies with a separate value head.

The VLN policies (CMA, Seq2Seq) have no value output and their checkpoints must keep
loading unchanged, so the critic is a separate ``ValueHead`` on the policy's last
recurrent layer (the state the action head reads). ``VLNActorCritic`` saves the policy
as ``model.safetensors`` (what ``vlnsim eval`` loads) and the head as extra trainer-state
tensors ``critic.*``.

``build_actor_critic`` makes the one PPO trains from an experiment config, optionally
starting from a checkpoint (``trainer.init_from``: an IL run for EnvDrop-style
fine-tuning, or a PPO run), in which case that checkpoint's policy config is used.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Tuple

import torch
from torch import nn

from .pointnav import ActorCriticOutput, categorical_stats, sample_actions

VLN_KEYS = ("depth", "instruction", "instruction_mask")


class ValueHead(nn.Module):
    """V(s) from a recurrent state: a small MLP (hidden -> hidden/2 -> 1)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        mid = max(1, hidden_size // 2)
        self.net = nn.Sequential(nn.Linear(hidden_size, mid), nn.Tanh(), nn.Linear(mid, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h.float()).squeeze(-1)


class VLNActorCritic(nn.Module):
    """A CMA/Seq2Seq ``Policy`` plus a ``ValueHead`` reading ``hidden[:, -1]`` after each step."""

    def __init__(self, policy):
        super().__init__()
        self.policy = policy
        self.critic_head = ValueHead(policy.hidden_size)
        self.observation_keys = VLN_KEYS + (("rgb",) if policy.clip is not None else ())
        self.num_recurrent_layers = policy.num_recurrent_layers
        self.hidden_size = policy.hidden_size

    def initial_hidden(self, batch_size: int, device=None) -> torch.Tensor:
        return self.policy.initial_hidden(batch_size, device)

    def _step(self, obs, hidden, prev_actions, masks):
        frame = self.policy.encode_frames(obs)
        instruction = self.policy.encode_instruction(obs)
        logits, _, hidden, att = self.policy._core(frame, instruction, hidden, prev_actions, masks)
        return logits, self.critic_head(hidden[:, -1]), hidden, att

    def act(self, obs, hidden, prev_actions, masks, deterministic: bool = True, generator=None, instruction=None):
        """One step: ``(actions, hidden, extras)`` with ``logits``, ``value``, ``log_prob``."""
        logits, value, hidden, att = self._step(obs, hidden, prev_actions, masks)
        actions = sample_actions(logits, deterministic, generator)
        log_prob, _ = categorical_stats(logits, actions)
        return actions, hidden, {"logits": logits, "value": value, "log_prob": log_prob, "attention": att,
                                 "progress": None, "instruction": None}

    def get_value(self, obs, hidden, prev_actions, masks) -> torch.Tensor:
        return self._step(obs, hidden, prev_actions, masks)[1]

    def evaluate_rollout(self, obs, hidden, prev_actions, masks, actions) -> ActorCriticOutput:
        """Re-run a (T, B) rollout; instructions change where episodes do, so each distinct
        instruction row is encoded once and gathered per step."""
        T, B = masks.shape
        flat = {k: v.reshape(T * B, *v.shape[2:]) for k, v in obs.items() if k in self.observation_keys}
        frames = self.policy.encode_frames(flat)
        tokens = flat["instruction"]
        uniq, inverse = torch.unique(tokens, dim=0, return_inverse=True)
        first = torch.zeros(len(uniq), dtype=torch.long, device=tokens.device).scatter_(
            0, inverse, torch.arange(len(inverse), device=tokens.device))
        enc = self.policy.encode_instruction({"instruction": uniq, "instruction_mask": flat["instruction_mask"][first]})
        per_step = tuple(e[inverse].reshape(T, B, *e.shape[1:]) for e in enc)
        frames = {k: v.reshape(T, B, *v.shape[1:]) for k, v in frames.items()}
        logits, values = [], []
        for t in range(T):
            lg, _, hidden, _ = self.policy._core({k: v[t] for k, v in frames.items()}, tuple(e[t] for e in per_step),
                                                 hidden, prev_actions[t], masks[t])
            logits.append(lg)
            values.append(self.critic_head(hidden[:, -1]))
        logits = torch.stack(logits)
        log_probs, entropy = categorical_stats(logits, actions)
        return ActorCriticOutput(log_probs=log_probs, values=torch.stack(values).float(), entropy=entropy, logits=logits)

    def checkpoint_parts(self) -> Tuple[nn.Module, Dict[str, torch.Tensor]]:
        """(the policy, saved as ``model.safetensors``; the critic as ``critic.*`` extra tensors)."""
        return self.policy, {f"critic.{k}": v for k, v in self.critic_head.state_dict().items()}

    def load_extra(self, tensors: Dict[str, torch.Tensor]) -> None:
        sd = {k[len("critic."):]: v for k, v in tensors.items() if k.startswith("critic.")}
        if sd:
            self.critic_head.load_state_dict(sd)

    def eval_policy(self):
        return self.policy


def build_actor_critic(cfg, env_config, run_dir: Path, dist) -> Tuple[nn.Module, Any, Dict[str, Any]]:
    """``(actor-critic, policy config used, checkpoint metadata)`` for a PPO experiment."""
    from ..trainers.checkpoint import load_checkpoint
    from .registry import POLICIES

    init = cfg.trainer.init_from
    if init:
        from ..evaluation import load_policy

        policy, meta = load_policy(init, torch.device("cpu"))
        policy.train()
        pcfg = policy.config
        extra = {"vocab_size": meta.get("vocab_size", 0), "clip_config": meta.get("clip_config"),
                 "init_from": str(meta["path"])}
        if pcfg.type == "pointnav":
            return policy, pcfg, extra
        ac = VLNActorCritic(policy)
        _, tensors, _ = load_checkpoint(init)  # a PPO checkpoint also holds its critic
        ac.load_extra({k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")})
        return ac, pcfg, extra
    pcfg = cfg.policy
    if pcfg.type == "pointnav":
        return POLICIES.get("pointnav")(pcfg), pcfg, {"vocab_size": 0, "clip_config": None}
    from vlnsim.episodes import load_split

    from ..trainers.distributed import barrier
    from ..trainers.il import ensure_tiny_clip
    from . import build_policy

    ds = load_split(env_config.data_root, env_config.dataset, env_config.split, env_config.version)
    vocab = len(ds.word_list)
    clip_source = pcfg.vision.clip
    if clip_source is None:
        if dist.is_main:
            ensure_tiny_clip(run_dir, cfg, vocab, env_config.max_instruction_length)
        barrier(dist)
        clip_source = str(run_dir / "tiny_clip")
    policy = build_policy(pcfg, vocab, clip_source, word_list=list(ds.word_list))
    ac = VLNActorCritic(policy)
    return ac, pcfg, {"vocab_size": vocab, "clip_config": policy.clip.config_dict() if policy.clip is not None else None,
                      "clip_source": clip_source}
