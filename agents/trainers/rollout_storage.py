"""PPO rollout storage with GAE(lambda) and recurrent minibatches (habitat-baselines semantics).

Layout (time-major, N environments): observations, recurrent states, previous actions
and masks have ``T + 1`` rows (row ``t`` is what the policy saw before acting at step
``t``; row ``T`` starts the next rollout); actions, rewards, log-probs have ``T`` rows;
values and returns ``T + 1``. ``masks[t] = 0`` when step ``t`` begins a new episode,
which zeroes the recurrent state and the previous action inside the policy, and cuts
the GAE recursion: ``delta_t = r_t + gamma * V_{t+1} * masks[t+1] - V_t``.

Recurrent minibatches split the environments (never time): each minibatch holds whole
(T, n) sequences of ``n = N / num_minibatches`` envs plus their recurrent state at the
rollout's first step, so the policy is re-run exactly as it acted.
"""
from __future__ import annotations

from typing import Dict, Iterator, Optional

import numpy as np
import torch


def compute_gae(rewards: torch.Tensor, values: torch.Tensor, masks: torch.Tensor, gamma: float,
                lam: float) -> torch.Tensor:
    """Returns ``R_t = A_t + V_t`` with GAE(lambda) advantages, for (T,N) rewards, (T+1,N) values/masks.

    ``masks[t+1] = 0`` means step ``t`` ended its episode (no bootstrap through it).
    """
    T = rewards.shape[0]
    returns = torch.zeros_like(values)
    gae = torch.zeros_like(values[0])
    for t in reversed(range(T)):
        delta = rewards[t] + gamma * values[t + 1] * masks[t + 1] - values[t]
        gae = delta + gamma * lam * masks[t + 1] * gae
        returns[t] = gae + values[t]
    returns[T] = values[T]
    return returns


class RolloutStorage:
    """Fixed-size buffers of one rollout of ``num_steps`` steps in ``num_envs`` envs.

    Args:
        num_steps: T, steps per env per rollout.
        num_envs: N.
        obs_spaces: ``{key: (shape, torch dtype)}`` of the stored observation keys.
        hidden_shape: ``(num_recurrent_layers, hidden_size)``.
        device: where the buffers live.
    """

    def __init__(self, num_steps: int, num_envs: int, obs_spaces: Dict[str, tuple], hidden_shape: tuple,
                 device: torch.device):
        T, N = int(num_steps), int(num_envs)
        self.num_steps, self.num_envs, self.device = T, N, device
        self.obs = {k: torch.zeros(T + 1, N, *shape, dtype=dtype, device=device) for k, (shape, dtype) in obs_spaces.items()}
        self.hidden = torch.zeros(T + 1, N, *hidden_shape, device=device)
        self.prev_actions = torch.zeros(T + 1, N, dtype=torch.long, device=device)
        self.masks = torch.zeros(T + 1, N, device=device)
        self.actions = torch.zeros(T, N, dtype=torch.long, device=device)
        self.rewards = torch.zeros(T, N, device=device)
        self.log_probs = torch.zeros(T, N, device=device)
        self.values = torch.zeros(T + 1, N, device=device)
        self.returns = torch.zeros(T + 1, N, device=device)
        self.step = 0  # steps stored in this rollout (a preempted DD-PPO rank stops early)

    def set_first(self, obs: Dict[str, torch.Tensor], hidden: torch.Tensor, prev_actions: torch.Tensor,
                  masks: torch.Tensor) -> None:
        """Row 0: the state the next rollout starts from."""
        for k in self.obs:
            self.obs[k][0].copy_(obs[k])
        self.hidden[0].copy_(hidden)
        self.prev_actions[0].copy_(prev_actions)
        self.masks[0].copy_(masks)
        self.step = 0

    def insert(self, obs: Dict[str, torch.Tensor], hidden: torch.Tensor, actions: torch.Tensor,
               log_probs: torch.Tensor, values: torch.Tensor, rewards: torch.Tensor, masks: torch.Tensor) -> None:
        """Store step ``t``'s action, its log-prob, V(s_t) and reward, and row ``t+1``'s inputs."""
        t = self.step
        self.actions[t].copy_(actions)
        self.log_probs[t].copy_(log_probs)
        self.values[t].copy_(values)
        self.rewards[t].copy_(rewards)
        for k in self.obs:
            self.obs[k][t + 1].copy_(obs[k])
        self.hidden[t + 1].copy_(hidden)
        self.prev_actions[t + 1].copy_(actions)
        self.masks[t + 1].copy_(masks)
        self.step = t + 1

    def after_update(self) -> None:
        """The last stored row becomes row 0 of the next rollout."""
        t = self.step
        for k in self.obs:
            self.obs[k][0].copy_(self.obs[k][t])
        self.hidden[0].copy_(self.hidden[t])
        self.prev_actions[0].copy_(self.prev_actions[t])
        self.masks[0].copy_(self.masks[t])
        self.step = 0

    def compute_returns(self, next_value: torch.Tensor, gamma: float, lam: float) -> None:
        """GAE returns over the ``step`` stored steps, bootstrapping with ``next_value`` = V(s_step)."""
        t = self.step
        self.values[t].copy_(next_value)
        self.returns[: t + 1] = compute_gae(self.rewards[:t], self.values[: t + 1], self.masks[: t + 1], gamma, lam)

    def advantages(self) -> torch.Tensor:
        """(T, N) ``returns - values`` over the stored steps (normalised later by the trainer)."""
        t = self.step
        return self.returns[:t] - self.values[:t]

    def recurrent_minibatches(self, advantages: torch.Tensor, num_minibatches: int,
                              generator: Optional[torch.Generator] = None) -> Iterator[Dict[str, object]]:
        """Minibatches of whole env sequences: ``num_minibatches`` disjoint groups of envs.

        Each yields ``obs`` (T, n, ...), ``hidden`` (n, R, H) at the rollout's start,
        ``prev_actions``, ``masks``, ``actions``, ``old_log_probs``, ``values``,
        ``returns``, ``advantages`` (all (T, n)).
        """
        T, N = self.step, self.num_envs
        if not 1 <= num_minibatches <= N:
            raise ValueError(f"num_minibatches={num_minibatches}; expected 1..num_envs={N}")
        perm = torch.randperm(N, generator=generator).tolist()
        for idx in np.array_split(np.asarray(perm), num_minibatches):
            i = torch.as_tensor(idx, dtype=torch.long, device=self.device)
            yield {
                "obs": {k: v[:T, i] for k, v in self.obs.items()},
                "hidden": self.hidden[0, i],
                "prev_actions": self.prev_actions[:T, i],
                "masks": self.masks[:T, i],
                "actions": self.actions[:T, i],
                "old_log_probs": self.log_probs[:T, i],
                "values": self.values[:T, i],
                "returns": self.returns[:T, i],
                "advantages": advantages[:T, i],
            }
