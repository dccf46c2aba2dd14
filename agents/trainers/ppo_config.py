"""Settings of the PPO trainer (``trainer:`` section with ``type: ppo``); defaults follow
habitat-baselines' PointNav PPO (DESIGN.md, "Wave 2 reference facts")."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from vlnsim.errors import ConfigError


@dataclass
class PPOTrainerConfig:
    """PPO (``trainer.type: ppo``); defaults are habitat-baselines' PointNav ones.

    Attributes:
        type: registry name.
        total_steps: env steps to train for, summed over envs and ranks (LR decays to 0 there).
        num_envs: vector envs per rank.
        num_steps: rollout length per env per update (habitat 64-128).
        asynchronous: one process per env (``AsyncVectorEnv``) or all in this one.
        ppo_epochs: passes over each rollout.
        num_minibatches: recurrent minibatches per pass (groups of whole env sequences).
        clip: PPO ratio clip (also the value clip).
        value_coef: weight of the value loss.
        entropy_coef: weight of the entropy bonus.
        lr: Adam learning rate at the start.
        eps: Adam epsilon.
        max_grad_norm: gradient-norm clip (0 disables).
        gamma: discount.
        gae_lambda: GAE lambda.
        linear_lr_decay: decay the learning rate linearly to 0 over ``total_steps``.
        clipped_value_loss: PPO2's clipped value loss (habitat default).
        normalize_advantages: standardise advantages over the rollout.
        il_coef: weight of a cross-entropy to the env's ``expert_action`` (0 = pure RL;
            needs ``env.expert_action_sensor: true``).
        init_from: checkpoint (IL or PPO run dir) whose policy weights and policy config
            start the training; null trains from scratch.
        amp: bfloat16 autocast on CUDA.
        checkpoint_every: checkpoint every this many updates (the last is always saved).
        log_every: TensorBoard scalars and a console line every this many updates.
        eval_every: evaluate on ``eval.split`` every this many updates (0: only at the end).
        eval_deterministic: evaluate with argmax actions (else sampled).
        group_scenes: give each env worker whole scenes (``scene_grouped_order``) so it
            loads only its share of the houses.
        time_budget_minutes: also stop after this much training wall time (evaluation
            excluded); the LR then decays by whichever of steps and time is further
            along. 0 = no budget (runs are then reproducible step for step).
    """

    type: str = "ppo"
    total_steps: int = 1_000_000
    num_envs: int = 4
    num_steps: int = 128
    asynchronous: bool = True
    ppo_epochs: int = 2
    num_minibatches: int = 2
    clip: float = 0.2
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    lr: float = 2.5e-4
    eps: float = 1e-5
    max_grad_norm: float = 0.5
    gamma: float = 0.99
    gae_lambda: float = 0.95
    linear_lr_decay: bool = True
    clipped_value_loss: bool = True
    normalize_advantages: bool = True
    il_coef: float = 0.0
    init_from: Optional[str] = None
    amp: bool = True
    checkpoint_every: int = 50
    log_every: int = 10
    eval_every: int = 0
    eval_deterministic: bool = True
    group_scenes: bool = True
    time_budget_minutes: float = 0.0

    def validate(self, where: str = "trainer") -> "PPOTrainerConfig":
        """Range checks; raises ``ConfigError`` naming the field."""
        for name, lo in (("total_steps", 1), ("num_envs", 1), ("num_steps", 1), ("ppo_epochs", 1),
                         ("num_minibatches", 1), ("checkpoint_every", 1), ("log_every", 1), ("eval_every", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ConfigError(f"{where}.{name}={v!r}; expected an integer >= {lo}")
        if self.num_minibatches > self.num_envs:
            raise ConfigError(f"{where}.num_minibatches={self.num_minibatches}; expected <= {where}.num_envs={self.num_envs} "
                              "(recurrent minibatches split the envs)")
        for name, lo, hi in (("clip", 0.0, 1.0), ("gamma", 0.0, 1.0), ("gae_lambda", 0.0, 1.0), ("value_coef", 0.0, math.inf),
                             ("entropy_coef", 0.0, math.inf), ("max_grad_norm", 0.0, math.inf), ("il_coef", 0.0, math.inf),
                             ("lr", 0.0, math.inf), ("eps", 0.0, math.inf), ("time_budget_minutes", 0.0, math.inf)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= v <= hi) or not math.isfinite(v):
                raise ConfigError(f"{where}.{name}={v!r}; expected a number in [{lo}, {hi}]")
        for name in ("asynchronous", "linear_lr_decay", "clipped_value_loss", "normalize_advantages", "amp", "eval_deterministic",
                     "group_scenes"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{where}.{name}={getattr(self, name)!r}; expected true or false")
        return self
