"""habitat's PointNav baseline, sized for a CPU: depth CNN + GPS/compass + previous action -> GRU.

Step t (PointNavResNetPolicy's shape, smaller):
1. depth (B,H,W,1) metres -> ``DepthEncoder`` (the same class, and the same parameter
   names ``depth_encoder.*``, as the VLN policies' depth encoder, so its weights can be
   handed to them with ``policy.depth.pretrained``) -> pooled (B, D).
2. ``pointgoal_with_gps_compass`` (rho, phi) -> (rho, cos phi, sin phi) -> linear -> (B, G).
3. previous action -> embedding (index 0 = start of episode, as the VLN policies).
4. GRU over the concatenation; ``masks`` (0 at an episode's first step) zero its state.
5. Actor: action logits; critic: state value.

The recurrent state is (B, num_recurrent_layers, hidden_size), as ``agents.policies.base``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from vlnsim.errors import ConfigError

from .config import DepthConfig
from ..encoders import DepthEncoder
from .registry import POLICIES

NUM_ACTIONS = 4
GOAL_KEY = "pointgoal_with_gps_compass"


def _cpu_depth() -> DepthConfig:
    # 32x32 input: a quarter of the 64x64 encoder's convolution cost, which keeps PPO's
    # rollout+update within the env's step budget on a CPU.
    return DepthConfig(channels=[16, 32, 32], output_dim=128, input_size=32, max_depth=10.0, trainable=True)


@dataclass
class PointNavPolicyConfig:
    """PointNav actor-critic (``policy.type: pointnav``).

    Attributes:
        type: registry name ("pointnav").
        hidden_size: GRU state size.
        goal_dim: embedding size of the (rho, cos phi, sin phi) point goal.
        prev_action_dim: previous-action embedding size.
        num_recurrent_layers: stacked GRU cells.
        depth: depth encoder settings (``agents.config.DepthConfig``; ``pretrained``
            may initialise it from another PointNav checkpoint).
    """

    type: str = "pointnav"
    hidden_size: int = 256
    goal_dim: int = 32
    prev_action_dim: int = 32
    num_recurrent_layers: int = 1
    depth: DepthConfig = field(default_factory=_cpu_depth)

    def validate(self, where: str = "policy") -> "PointNavPolicyConfig":
        """Range checks; raises ``ConfigError`` naming the field."""
        if self.type != "pointnav":
            raise ConfigError(f"{where}.type={self.type!r}; expected 'pointnav'")
        for name in ("hidden_size", "goal_dim", "prev_action_dim", "num_recurrent_layers"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{where}.{name}={v!r}; expected an integer >= 1")
        d = self.depth
        if hasattr(d, "validate"):
            d.validate(f"{where}.depth")
        return self

    @classmethod
    def from_dict(cls, data: Optional[dict]) -> "PointNavPolicyConfig":
        """Build from a plain mapping (a checkpoint's ``config.policy``) with the shared loader's checks
        (unknown keys, types); a partial ``depth`` section keeps the CPU-sized defaults."""
        from vlnsim.config import to_dataclass

        return to_dataclass(cls, dict(data or {}), where="policy").validate()


@dataclass
class ActorCriticOutput:
    """What PPO needs from a sequence pass: all (T, B) except ``logits`` (T, B, A)."""

    log_probs: torch.Tensor
    values: torch.Tensor
    entropy: torch.Tensor
    logits: torch.Tensor


def categorical_stats(logits: torch.Tensor, actions: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(log-prob of ``actions``, entropy) of the categorical distribution over ``logits``."""
    logp = F.log_softmax(logits.float(), dim=-1)
    chosen = logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
    entropy = -(logp.exp() * logp).sum(-1)
    return chosen, entropy


def sample_actions(logits: torch.Tensor, deterministic: bool, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Argmax, or a draw from softmax(logits) with ``generator`` (reproducible rollouts)."""
    if deterministic:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float(), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def depth_config_of(cfg) -> DepthConfig:
    """The ``DepthConfig`` of a policy config given as a dataclass or a mapping."""
    d = cfg["depth"] if isinstance(cfg, dict) else cfg.depth
    return d if isinstance(d, DepthConfig) else DepthConfig(**{k: v for k, v in dict(d).items()
                                                              if k in DepthConfig.__dataclass_fields__})


@POLICIES.register("pointnav", config=PointNavPolicyConfig)
class PointNavPolicy(nn.Module):
    """Depth + GPS/compass + previous action -> GRU -> (action logits, value).

    ``vocab_size`` and ``clip`` are accepted for the shared ``build_policy`` signature
    and ignored (no instruction, no RGB).
    """

    observation_keys = ("depth", GOAL_KEY)

    def __init__(self, config: PointNavPolicyConfig, vocab_size: int = 0, clip=None):
        super().__init__()
        if isinstance(config, dict):
            config = PointNavPolicyConfig.from_dict(config)
        self.config = config
        self.hidden_size = int(config.hidden_size)
        self.num_recurrent_layers = int(config.num_recurrent_layers)
        dc = config.depth
        self.depth_encoder = DepthEncoder(tuple(dc.channels), dc.output_dim, dc.input_size, dc.max_depth, dc.trainable)
        self.goal_embedding = nn.Linear(3, config.goal_dim)
        self.prev_action_embedding = nn.Embedding(NUM_ACTIONS + 1, config.prev_action_dim)
        self.rnn = nn.GRU(dc.output_dim + config.goal_dim + config.prev_action_dim, self.hidden_size,
                          num_layers=self.num_recurrent_layers)
        self.action_head = nn.Linear(self.hidden_size, NUM_ACTIONS)
        self.critic = nn.Linear(self.hidden_size, 1)
        # Small actor init (habitat/CleanRL: gain 0.01) starts near-uniform; critic gain 1.
        nn.init.orthogonal_(self.action_head.weight, gain=0.01)
        nn.init.zeros_(self.action_head.bias)
        nn.init.orthogonal_(self.critic.weight, gain=1.0)
        nn.init.zeros_(self.critic.bias)
        if getattr(dc, "pretrained", None):
            load_pretrained_depth(self.depth_encoder, dc.pretrained)

    # ----- shared interface ---------------------------------------------------------------
    @property
    def clip(self):  # evaluation and checkpoint code look for an RGB tower
        return None

    def checkpoint_parts(self):
        """(module saved as ``model.safetensors``, extra tensors): the critic is part of this policy."""
        return self, {}

    def load_extra(self, tensors: Dict[str, torch.Tensor]) -> None:
        """Nothing beyond the policy's own weights."""

    def eval_policy(self) -> "PointNavPolicy":
        """The module ``PolicyAgent`` drives at evaluation."""
        return self

    def initial_hidden(self, batch_size: int, device=None) -> torch.Tensor:
        """Zero recurrent state (B, R, H)."""
        device = device if device is not None else self.action_head.weight.device
        return torch.zeros(batch_size, self.num_recurrent_layers, self.hidden_size, device=device)

    def encode_frames(self, obs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """State-independent inputs (N, D+G) for a flat batch of observations."""
        depth = self.depth_encoder.pool_features(self.depth_encoder.spatial_features(obs["depth"]))
        goal = obs[GOAL_KEY].float()
        rho, phi = goal[:, 0], goal[:, 1]
        g = self.goal_embedding(torch.stack([rho, torch.cos(phi), torch.sin(phi)], dim=-1))
        return torch.cat([depth, g], dim=-1)

    def _core(self, frames: torch.Tensor, hidden: torch.Tensor, prev_actions: torch.Tensor,
              masks: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(T, B) steps from state ``hidden`` (B, R, H): logits (T,B,A), values (T,B), final state.

        As habitat's RNN state encoder, the sequence is cut at the time steps where some
        env starts an episode (mask 0); each piece runs as one fused ``nn.GRU`` call and
        the state of the restarting envs is zeroed in between.
        """
        T = masks.shape[0]
        keep = (masks > 0)
        idx = ((prev_actions.long() + 1) * keep.long()).clamp(0, NUM_ACTIONS)
        x = torch.cat([frames, self.prev_action_embedding(idx)], dim=-1)
        h = hidden.transpose(0, 1).contiguous()  # (R, B, H), nn.GRU's layout
        cuts = [0] + ((~keep[1:]).any(dim=1).nonzero().flatten() + 1).tolist() + [T]
        outs = []
        for a, b in zip(cuts[:-1], cuts[1:]):
            h = h * keep[a].to(h.dtype).view(1, -1, 1)
            out, h = self.rnn(x[a:b].to(h.dtype), h)
            outs.append(out)
        out = torch.cat(outs)
        return self.action_head(out), self.critic(out).squeeze(-1), h.transpose(0, 1)

    def act(self, obs: Dict[str, torch.Tensor], hidden: torch.Tensor, prev_actions: torch.Tensor,
            masks: torch.Tensor, deterministic: bool = True, generator: Optional[torch.Generator] = None,
            instruction=None):
        """One step: ``(actions (B,), hidden, extras)``, extras with ``logits``, ``value``, ``log_prob``.

        Same call as the VLN policies (``instruction`` is ignored; ``attention`` is None).
        """
        logits, value, hidden = self._core(self.encode_frames(obs)[None], hidden, prev_actions[None], masks[None])
        logits, value = logits[0], value[0]
        actions = sample_actions(logits, deterministic, generator)
        log_prob, _ = categorical_stats(logits, actions)
        return actions, hidden, {"logits": logits, "value": value, "log_prob": log_prob, "progress": None,
                                 "attention": None, "instruction": None}

    def get_value(self, obs, hidden, prev_actions, masks) -> torch.Tensor:
        """V(s) (B,) of the step that ``obs`` begins."""
        return self._core(self.encode_frames(obs)[None], hidden, prev_actions[None], masks[None])[1][0]

    def evaluate_rollout(self, obs: Dict[str, torch.Tensor], hidden: torch.Tensor, prev_actions: torch.Tensor,
                         masks: torch.Tensor, actions: torch.Tensor) -> ActorCriticOutput:
        """Re-run a (T, B) rollout from its first state; log-probs, values, entropies of ``actions``."""
        T, B = masks.shape
        flat = {k: v.reshape(T * B, *v.shape[2:]) for k, v in obs.items() if k in self.observation_keys}
        frames = self.encode_frames(flat).reshape(T, B, -1)  # convolutions batched over T*B
        logits, values, _ = self._core(frames, hidden, prev_actions, masks)
        log_probs, entropy = categorical_stats(logits, actions)
        return ActorCriticOutput(log_probs=log_probs, values=values.float(), entropy=entropy, logits=logits)


def load_pretrained_depth(encoder: DepthEncoder, path: Union[str, Path]) -> List[str]:
    """Copy the ``depth_encoder.*`` weights of a checkpoint (PointNav's, as VLN-CE's DD-PPO hand-off) into ``encoder``.

    ``path``: a run dir, checkpoint dir or ``model.safetensors``. The convolutional trunk
    (``stem``, ``stages``) must match in shape (same ``channels``); the pooling layer is
    copied too when its shape matches (same ``output_dim`` and ``input_size``), else it
    keeps its fresh init. Frozen/trainable is the target's own ``trainable``. Returns
    the names of the tensors loaded.
    """
    from ..trainers.checkpoint import load_checkpoint

    weights, _, meta = load_checkpoint(path)
    prefix = "depth_encoder."
    src = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    if not src:
        raise ConfigError(f"policy.depth.pretrained={str(path)!r}: checkpoint {meta['path']!r} holds no "
                          f"'{prefix}*' weights; expected a PointNav (or VLN) policy checkpoint")
    own = encoder.state_dict()
    same = {k for k in own if k in src and tuple(src[k].shape) == tuple(own[k].shape)}
    trunk = [k for k in own if not k.startswith("pool.")]
    if not set(trunk) <= same:
        theirs = (meta.get("config") or {}).get("policy", {}).get("depth")
        bad = sorted(set(trunk) - same)
        raise ConfigError(f"policy.depth.pretrained={str(path)!r}: depth trunk shapes differ at {bad[:3]}; "
                          f"expected policy.depth.channels equal to the checkpoint's ({theirs})")
    pool = [k for k in own if k.startswith("pool.")]
    loaded = trunk + (pool if set(pool) <= same else [])
    encoder.load_state_dict({k: src[k] for k in loaded}, strict=False)
    return loaded
