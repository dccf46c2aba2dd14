"""DD-PPO (Wijmans et al., 2020): decentralised distributed PPO with preemption of stragglers.

Every rank (``torchrun``; gloo on CPU, NCCL on GPU) collects its own rollout and runs
PPO on it; gradients are averaged over ranks by one all-reduce per minibatch
(``PPOTrainer._sync_gradients``), so parameters stay identical everywhere. Collection
is not synchronised step by step: each rank adds 1 to a counter in the process group's
key-value store when it finishes its rollout, and a rank that has collected at least
``short_rollout_threshold`` of ``num_steps`` stops early once ``sync_frac`` of the ranks
have finished (the paper's preemption threshold, 0.6). The counter key is fresh for
every update, so no reset races with a fast rank's next rollout.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from vlnsim.errors import ConfigError

from .ppo import PPOTrainer
from .ppo_config import PPOTrainerConfig
from .registry import TRAINERS


@dataclass
class DDPPOTrainerConfig(PPOTrainerConfig):
    """DD-PPO (``trainer.type: ddppo``): PPO's fields plus the preemption settings.

    Attributes:
        type: registry name.
        sync_frac: a rank may stop collecting once this fraction of ranks has finished.
        short_rollout_threshold: ... but only after collecting this fraction of ``num_steps``.
    """

    type: str = "ddppo"
    sync_frac: float = 0.6
    short_rollout_threshold: float = 0.25

    def validate(self, where: str = "trainer") -> "DDPPOTrainerConfig":
        super().validate(where)
        for name in ("sync_frac", "short_rollout_threshold"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 < v <= 1.0:
                raise ConfigError(f"{where}.{name}={v!r}; expected a fraction in (0, 1]")
        return self


class RolloutTracker:
    """The shared "ranks done collecting" counter of one update, in a ``torch.distributed`` store.

    Args:
        store: a ``torch.distributed.Store`` shared by all ranks (the default group's).
        world_size: number of ranks.
        sync_frac: preemption fraction.
        min_steps: steps a rank collects before it may be preempted.
    """

    def __init__(self, store, world_size: int, sync_frac: float, min_steps: int):
        self.store = store
        self.world_size = int(world_size)
        self.needed = sync_frac * world_size
        self.min_steps = int(min_steps)
        self.key = "num_done_0"

    def start(self, update: int) -> None:
        """Use update ``update``'s counter (created at 0 on first use)."""
        self.key = f"num_done_{update}"

    def num_done(self) -> int:
        return int(self.store.add(self.key, 0))  # add(0) reads without blocking on a missing key

    def finish(self) -> None:
        """This rank has finished collecting."""
        self.store.add(self.key, 1)

    def should_stop(self, steps: int) -> bool:
        """True when this rank, ``steps`` into its rollout, is a straggler to preempt."""
        return steps >= self.min_steps and self.num_done() >= self.needed


def default_store():
    """The store behind the default process group, under a ``ddppo/`` prefix."""
    import torch.distributed as dist
    from torch.distributed import distributed_c10d

    return dist.PrefixStore("ddppo/", distributed_c10d._get_default_store())


@TRAINERS.register("ddppo", config=DDPPOTrainerConfig)
class DDPPOTrainer(PPOTrainer):
    """PPO with DD-PPO's preemption when run by several processes (plain PPO on one)."""

    def __init__(self, cfg, device: Optional[str] = None, dist_info=None, progress: bool = True):
        super().__init__(cfg, device, dist_info, progress)
        self.tracker: Optional[RolloutTracker] = None
        if self.dist.enabled:
            t = self.t
            self.tracker = RolloutTracker(default_store(), self.dist.world_size, t.sync_frac,
                                          math.ceil(t.short_rollout_threshold * t.num_steps))

    def should_stop_collecting(self, step: int) -> bool:
        return self.tracker is not None and step < self.t.num_steps and self.tracker.should_stop(step)

    def collect_rollout(self) -> int:
        if self.tracker is None:
            return super().collect_rollout()
        self.tracker.start(self.update)
        steps = super().collect_rollout()
        self.tracker.finish()
        self.preempted = steps < self.t.num_steps * self.t.num_envs
        return steps
