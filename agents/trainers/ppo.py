"""PPO for navigation (habitat-baselines semantics, CleanRL layout), read top to bottom.

One update:
1. Rollout: ``num_steps`` steps in ``num_envs`` Gymnasium vector envs (autoreset in the
   same step, as habitat: the observation after a final step is the next episode's
   first), actions sampled from the policy, stored with log-probs, values and the
   recurrent state (``RolloutStorage``).
2. GAE(lambda) returns, bootstrapped from V of the last observation.
3. ``ppo_epochs`` passes of ``num_minibatches`` recurrent minibatches (whole env
   sequences re-run from their stored initial state): clipped surrogate + clipped value
   loss - entropy bonus (+ ``il_coef`` x cross-entropy to the expert action when the env
   provides ``expert_action``: EnvDrop-style IL+RL mixing), advantages normalised over
   the rollout, gradients clipped, Adam with a linearly decayed learning rate.

Several processes (``torchrun``): each rank collects on its own shard of the episodes and
gradients are averaged over ranks (all-reduce); trainer ``ddppo`` adds DD-PPO's preemption
of stragglers (``agents.trainers.ddppo``). Checkpoints are taken between updates, after
which every env starts a fresh episode (re-seeded from (seed, rank, update)); a resumed
run therefore reproduces the uninterrupted one exactly.
"""
from __future__ import annotations

import json
import time
from collections import deque
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from vlnsim.errors import ConfigError

from .distributed import DistInfo, barrier, broadcast_module, reduce_mean, setup_process
from .ppo_config import PPOTrainerConfig
from .registry import TRAINERS
from .rollout_storage import RolloutStorage


def ppo_loss(out, batch: Dict[str, Any], cfg: PPOTrainerConfig) -> Dict[str, torch.Tensor]:
    """Clipped surrogate, (clipped) value loss, entropy and the total; ``out`` is an ``ActorCriticOutput``."""
    adv = batch["advantages"]
    ratio = torch.exp(out.log_probs - batch["old_log_probs"])
    surr1 = ratio * adv
    surr2 = ratio.clamp(1.0 - cfg.clip, 1.0 + cfg.clip) * adv
    policy_loss = -torch.min(surr1, surr2).mean()
    values, returns, old_values = out.values, batch["returns"], batch["values"]
    if cfg.clipped_value_loss:
        clipped = old_values + (values - old_values).clamp(-cfg.clip, cfg.clip)
        value_loss = 0.5 * torch.max((values - returns) ** 2, (clipped - returns) ** 2).mean()
    else:
        value_loss = 0.5 * ((values - returns) ** 2).mean()
    entropy = out.entropy.mean()
    total = policy_loss + cfg.value_coef * value_loss - cfg.entropy_coef * entropy
    res = {"policy": policy_loss, "value": value_loss, "entropy": entropy,
           "clip_fraction": ((ratio - 1.0).abs() > cfg.clip).float().mean(),
           "approx_kl": (batch["old_log_probs"] - out.log_probs).mean()}
    expert = batch["obs"].get("expert_action")
    if cfg.il_coef > 0 and expert is not None:
        logits = out.logits.float()
        res["il"] = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), expert.reshape(-1).long())
        total = total + cfg.il_coef * res["il"]
    res["total"] = total
    return res


def _seed_of(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


@TRAINERS.register("ppo", config=PPOTrainerConfig)
class PPOTrainer:
    """PPO over ``envs.make_vec_env`` (``vlnsim train`` with ``trainer.type: ppo``).

    Args:
        cfg: experiment config (``env``, ``policy``, ``trainer`` = ``PPOTrainerConfig``, ``eval``).
        device: "cpu", "cuda" or "auto" (None: ``cfg.device``).
        dist_info: rank information (``init_distributed``); single process when None.
        progress: tqdm bar and console lines (rank 0).
    """

    def __init__(self, cfg, device: Optional[str] = None, dist_info: Optional[DistInfo] = None, progress: bool = True):
        import envs

        from ..policies.critic import build_actor_critic

        self.cfg, self.t = cfg, cfg.trainer
        if hasattr(self.t, "validate"):
            self.t.validate()
        self.dist, self.device = setup_process(cfg, device, dist_info)
        self.progress = progress and self.dist.is_main
        self.run_dir = Path(cfg.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env_dict = dict(cfg.env)
        env_dict.setdefault("split", "train")
        if env_dict.get("episode_order", "shuffle") != "shuffle":
            raise ConfigError(f"env.episode_order={env_dict['episode_order']!r}; PPO re-seeds its envs after every "
                              "checkpoint, so expected 'shuffle' (a sequential order would replay the same episodes)")
        env_dict["episode_order"] = "shuffle"
        self.env_config = envs.load_config(env_dict)
        torch.manual_seed(cfg.seed)
        self.ac, self.policy_cfg, self.meta_extra = build_actor_critic(cfg, self.env_config, self.run_dir, self.dist)
        self.ac.to(self.device)
        broadcast_module(self.ac, self.dist)
        self.params = [p for p in self.ac.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(self.params, lr=self.t.lr, eps=self.t.eps)
        self.amp = bool(self.t.amp and self.device.type == "cuda")
        self.gen = torch.Generator(device=self.device).manual_seed(_seed_of(cfg.seed, self.dist.rank, 1))
        self.cpu_gen = torch.Generator().manual_seed(_seed_of(cfg.seed, self.dist.rank, 2))
        self.update, self.env_steps, self.optim_steps = 0, 0, 0
        self.history: List[Dict[str, Any]] = []
        self.vec = None
        self.storage: Optional[RolloutStorage] = None
        self.writer = None
        self._val_env = None
        self.recent = deque(maxlen=100)  # finished episodes: return, length, metrics
        self.timing = {"env": 0.0, "policy": 0.0, "update": 0.0}
        self.eval_seconds = 0.0
        self.train_seconds = 0.0
        self.local_steps = 0

    # ----- envs -----------------------------------------------------------------------------
    def _open_envs(self) -> None:
        import envs
        from gymnasium.vector import AutoresetMode

        c = self.env_config
        if self.t.group_scenes and c.num_shards == 1:
            from envs.episode_source import EpisodeSource

            episodes = EpisodeSource(c).episodes
            c = c.replace(episode_ids=scene_grouped_order(episodes, self.dist.world_size * self.t.num_envs))
        c = c.replace(shard_index=c.shard_index * self.dist.world_size + self.dist.rank,
                      num_shards=c.num_shards * self.dist.world_size)
        self.vec = envs.make_vec_env(c, self.t.num_envs, asynchronous=self.t.asynchronous,
                                     autoreset_mode=AutoresetMode.SAME_STEP)
        keys = self.ac.observation_keys
        missing = [k for k in keys if k not in self.vec.single_observation_space.spaces]
        if missing:
            raise ConfigError(f"env observations lack {missing} that policy.type={self.policy_cfg.type!r} reads; "
                              "check the env section (depth, task, expert_action_sensor)")
        spaces = {k: (self.vec.single_observation_space[k].shape, _torch_dtype(self.vec.single_observation_space[k].dtype))
                  for k in keys}
        if self.t.il_coef > 0:
            if "expert_action" not in self.vec.single_observation_space.spaces:
                raise ConfigError("trainer.il_coef > 0 needs env.expert_action_sensor: true")
            spaces["expert_action"] = ((1,), torch.long)
        self.storage = RolloutStorage(self.t.num_steps, self.t.num_envs, spaces,
                                      (self.ac.num_recurrent_layers, self.ac.hidden_size), self.device)

    def _to_tensors(self, obs: Dict[str, np.ndarray]) -> Dict[str, torch.Tensor]:
        return {k: torch.as_tensor(np.asarray(obs[k])).to(self.device) for k in self.storage.obs}

    def _restart_envs(self) -> None:
        """Every env starts a new episode, seeded by (seed, rank, update): the resume point."""
        obs, _ = self.vec.reset(seed=_seed_of(self.cfg.seed, self.dist.rank, self.update, 3) % (2 ** 31))
        N = self.t.num_envs
        self.storage.set_first(self._to_tensors(obs), self.ac.initial_hidden(N, self.device),
                               torch.zeros(N, dtype=torch.long, device=self.device), torch.zeros(N, device=self.device))
        self._ep_return = np.zeros(N)
        self._ep_length = np.zeros(N, dtype=np.int64)

    # ----- one update -----------------------------------------------------------------------
    def should_stop_collecting(self, step: int) -> bool:
        """Hook for DD-PPO's preemption (``step`` steps collected so far)."""
        return False

    def collect_rollout(self) -> int:
        """Fill the storage with up to ``num_steps`` steps per env; returns the steps collected."""
        s, N = self.storage, self.t.num_envs
        self.ac.eval()
        for step in range(self.t.num_steps):
            t = s.step
            t0 = time.perf_counter()
            with torch.no_grad(), torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=self.amp):
                obs_t = {k: v[t] for k, v in s.obs.items()}
                actions, hidden, ex = self.ac.act(obs_t, s.hidden[t], s.prev_actions[t], s.masks[t],
                                                  deterministic=False, generator=self.gen)
            acts = actions.cpu().numpy()
            t1 = time.perf_counter()
            obs, rewards, term, trunc, info = self.vec.step(acts)
            t2 = time.perf_counter()
            done = np.logical_or(term, trunc)
            self._track_episodes(np.asarray(rewards, dtype=np.float64), done, info)
            s.insert(self._to_tensors(obs), hidden.float(), actions, ex["log_prob"].float(), ex["value"].float(),
                     torch.as_tensor(np.asarray(rewards, dtype=np.float32), device=self.device),
                     torch.as_tensor((~done).astype(np.float32), device=self.device))
            self.timing["policy"] += (t1 - t0) + (time.perf_counter() - t2)
            self.timing["env"] += t2 - t1
            if self.should_stop_collecting(step + 1):
                break
        return s.step * N

    def _track_episodes(self, rewards: np.ndarray, done: np.ndarray, info: Dict[str, Any]) -> None:
        self._ep_return += rewards
        self._ep_length += 1
        final = info.get("final_info", {})
        metrics = final.get("metrics", {})
        for i in np.flatnonzero(done):
            rec = {"return": float(self._ep_return[i]), "length": int(self._ep_length[i])}
            for k in ("success", "spl", "ne"):
                if k in metrics:
                    rec[k] = float(metrics[k][i])
            self.recent.append(rec)
            self._ep_return[i], self._ep_length[i] = 0.0, 0

    def _advantages(self) -> torch.Tensor:
        adv = self.storage.advantages()
        if not self.t.normalize_advantages:
            return adv
        n = torch.tensor([adv.numel(), adv.sum().item(), (adv ** 2).sum().item()], dtype=torch.float64, device=self.device)
        if self.dist.enabled:  # DD-PPO: statistics over all ranks' (unequal) rollouts
            torch.distributed.all_reduce(n)
        mean = n[1] / n[0]
        var = (n[2] / n[0] - mean ** 2).clamp(min=0.0)
        return ((adv - mean) / (var.sqrt() + 1e-5)).float()

    def _sync_gradients(self) -> None:
        """Average gradients over ranks (one flat all-reduce; missing grads count as 0)."""
        if not self.dist.enabled:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        torch.distributed.all_reduce(flat)
        flat /= self.dist.world_size
        offset = 0
        for p, g in zip(self.params, grads):
            n = g.numel()
            p.grad = flat[offset:offset + n].view_as(p).clone()
            offset += n

    def progress_fraction(self) -> float:
        """How far training is: env steps over ``total_steps`` (or the time budget, if further)."""
        frac = self.env_steps / self.t.total_steps
        if self.t.time_budget_minutes > 0:
            frac = max(frac, self.train_seconds / (60.0 * self.t.time_budget_minutes))
        return min(1.0, frac)

    def update_policy(self) -> Dict[str, float]:
        """GAE, then ``ppo_epochs`` x ``num_minibatches`` clipped-PPO steps; returns mean losses."""
        s, t = self.storage, self.t
        with torch.no_grad(), torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=self.amp):
            k = s.step
            next_value = self.ac.get_value({n: v[k] for n, v in s.obs.items()}, s.hidden[k], s.prev_actions[k], s.masks[k])
        s.compute_returns(next_value.float(), t.gamma, t.gae_lambda)
        advantages = self._advantages()
        value_error = float(((s.returns[:k] - s.values[:k]) ** 2).mean())
        if t.linear_lr_decay:
            for g in self.optimizer.param_groups:
                g["lr"] = t.lr * max(0.0, 1.0 - self.progress_fraction())
        self.ac.train()
        sums: Dict[str, float] = {}
        n = 0
        for _ in range(t.ppo_epochs):
            for batch in s.recurrent_minibatches(advantages, t.num_minibatches, self.cpu_gen):
                with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=self.amp):
                    out = self.ac.evaluate_rollout(batch["obs"], batch["hidden"], batch["prev_actions"], batch["masks"],
                                                   batch["actions"])
                losses = ppo_loss(out, batch, t)
                self.optimizer.zero_grad(set_to_none=True)
                losses["total"].backward()
                self._sync_gradients()
                if t.max_grad_norm > 0:
                    torch.nn.utils.clip_grad_norm_(self.params, t.max_grad_norm)
                self.optimizer.step()
                self.optim_steps += 1
                for name, v in losses.items():
                    sums[name] = sums.get(name, 0.0) + float(v.detach())
                n += 1
        s.after_update()
        res = {k: v / max(n, 1) for k, v in sums.items()}
        res["value_error"] = value_error
        return res

    # ----- evaluation -------------------------------------------------------------------------
    def evaluate(self, split: Optional[str] = None, episodes: Optional[int] = None) -> Dict[str, float]:
        """The current policy on ``split`` (default ``eval.split``), one env, rank 0."""
        import envs

        from ..evaluation import PolicyAgent, aggregate, evaluate_episodes, select_episodes

        split = split or self.cfg.eval.split
        if self._val_env is None or self._val_env.unwrapped.config.split != split:
            if self._val_env is not None:
                self._val_env.close()
            self._val_env = envs.make_env(self.env_config.replace(split=split, progress_sensor=False, episode_order="sequential",
                                                                  expert_action_sensor=False, shard_index=0, num_shards=1))
        ids = select_episodes(self._val_env.unwrapped.shard_episode_ids, episodes if episodes is not None else self.cfg.eval.episodes)
        agent = PolicyAgent(self.ac.eval_policy(), self.device, deterministic=self.t.eval_deterministic)
        recs = evaluate_episodes(self._val_env, agent, ids, progress=self.progress, desc=f"eval {split}")
        self.ac.train()
        return aggregate(recs)

    # ----- the loop ----------------------------------------------------------------------------
    def train(self, resume: bool = False, max_steps: Optional[int] = None) -> Dict[str, Any]:
        """Train to ``total_steps`` env steps; ``max_steps`` stops after that many optimiser steps
        (rounded up to a whole update), checkpointing there."""
        from torch.utils.tensorboard import SummaryWriter
        from tqdm import tqdm

        if resume:
            self.resume()
        t = self.t
        if self.vec is None:
            self._open_envs()
        self._restart_envs()
        if self.dist.is_main:
            # x-axis = env steps; on resume drop what a killed run logged after its checkpoint
            self.writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=self.env_steps + 1 if resume else None)
        bar = tqdm(total=t.total_steps, initial=min(self.env_steps, t.total_steps), unit="step", disable=not self.progress,
                   desc=f"{t.type} {self.policy_cfg.type}")
        stop_at = None if max_steps is None else self.optim_steps + max(1, int(max_steps))
        wall0 = time.perf_counter() - (self.history[-1]["wall_s"] if self.history else 0.0)
        try:
            while self.progress_fraction() < 1.0 and (stop_at is None or self.optim_steps < stop_at):
                t0 = time.perf_counter()
                steps = self.collect_rollout()
                self.local_steps = steps  # this rank's (DD-PPO may preempt it)
                t1 = time.perf_counter()
                losses = self.update_policy()
                self.timing["update"] += time.perf_counter() - t1
                steps = int(reduce_mean({"s": steps}, self.dist, self.device)["s"] * self.dist.world_size + 0.5)
                self.env_steps += steps
                self.update += 1
                bar.update(steps)
                wall = time.perf_counter() - wall0
                self.train_seconds = self._agree(wall - self.eval_seconds)
                final = self.progress_fraction() >= 1.0 or (stop_at is not None and self.optim_steps >= stop_at)
                self._after_update(losses, steps, time.perf_counter() - t0, wall, final)
                if final or self.update % t.checkpoint_every == 0:
                    self.save()
                    self._restart_envs()
        finally:
            bar.close()
            if self.writer is not None:
                self.writer.close()
                self.writer = None
        if self.dist.is_main:
            from vlnsim.io_utils import atomic_write_text

            atomic_write_text(self.run_dir / "train_history.json", json.dumps(self.history, indent=1))
        return {"history": self.history, "checkpoint": str(self.run_dir / "checkpoints"), "global_step": self.optim_steps,
                "env_steps": self.env_steps, "updates": self.update}

    def _agree(self, value: float) -> float:
        """Rank 0's value on every rank (time-based decisions must not diverge)."""
        if not self.dist.enabled:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        torch.distributed.broadcast(t, src=0)
        return float(t)

    def _episode_stats(self) -> Dict[str, float]:
        """Means over the last 100 finished episodes of every rank (sums and counts all-reduced)."""
        keys = ("return", "length", "success", "spl")
        eps = list(self.recent)
        sums = torch.tensor([sum(e.get(k, 0.0) for e in eps) for k in keys] + [sum(k in e for e in eps) for k in keys],
                            dtype=torch.float64, device=self.device)
        if self.dist.enabled:
            torch.distributed.all_reduce(sums)
        n = len(keys)
        return {k: float(sums[i] / sums[n + i]) for i, k in enumerate(keys) if sums[n + i] > 0}

    def _after_update(self, losses: Dict[str, float], steps: int, update_s: float, wall_s: float, final: bool) -> None:
        t = self.t
        stats = self._episode_stats()
        losses = reduce_mean(losses, self.dist, self.device)
        rec = {"update": self.update, "env_steps": self.env_steps, "optim_steps": self.optim_steps, "wall_s": wall_s,
               "fps": steps / max(update_s, 1e-9), "lr": self.optimizer.param_groups[0]["lr"], "losses": losses,
               "train": stats, "timing": dict(self.timing), "rank0_rollout_steps": self.local_steps}
        e = self.cfg.eval
        rec["train_s"] = self.train_seconds  # wall time without evaluation
        if self.dist.is_main and e.split and (final or (t.eval_every and self.update % t.eval_every == 0)):
            t0 = time.perf_counter()
            rec["eval"] = self.evaluate()
            self.eval_seconds += time.perf_counter() - t0
        if self.dist.is_main and self.writer is not None and (final or self.update % t.log_every == 0 or "eval" in rec):
            x = self.env_steps
            for k, v in losses.items():
                self.writer.add_scalar(f"losses/{k}", v, x)
            for k, v in stats.items():
                self.writer.add_scalar(f"charts/episode_{k}", v, x)
            self.writer.add_scalar("charts/fps", rec["fps"], x)
            self.writer.add_scalar("charts/lr", rec["lr"], x)
            for k in ("sr", "spl", "ne"):
                if "eval" in rec:
                    self.writer.add_scalar(f"eval/{k}", rec["eval"][k], x)
            if self.progress:
                ev = rec.get("eval")
                msg = (f"[update {self.update}] steps={x} fps={rec['fps']:.0f} wall={wall_s:.0f}s "
                       f"return={stats.get('return', float('nan')):.2f} success={stats.get('success', float('nan')):.2f} "
                       f"spl={stats.get('spl', float('nan')):.2f} value={losses['value']:.3f} entropy={losses['entropy']:.3f}")
                if ev:
                    msg += f" | {self.cfg.eval.split} sr={ev['sr']:.3f} spl={ev['spl']:.3f} ({ev['episodes']} eps)"
                print(msg, flush=True)
        self.history.append(rec)

    # ----- checkpoints -------------------------------------------------------------------------
    def save(self) -> Path:
        """Checkpoint between updates (rank 0 writes): policy weights + trainer state."""
        from .checkpoint import save_checkpoint

        barrier(self.dist)
        path = None
        if self.dist.is_main:
            policy, extra = self.ac.checkpoint_parts()
            extra_t = {f"extra.{k}": v for k, v in extra.items()}
            extra_t["gen.sample"] = self.gen.get_state()
            extra_t["gen.minibatch"] = self.cpu_gen.get_state()
            meta = dict(self.meta_extra, config=_config_dict(self.cfg, self.policy_cfg), env=self.env_config.to_dict(),
                        global_step=self.optim_steps, env_steps=self.env_steps, update=self.update,
                        world_size=self.dist.world_size, history=self.history, trainer=self.t.type)
            path = save_checkpoint(self.run_dir / "checkpoints", self.update, policy, self.optimizer, meta, extra_t)
        barrier(self.dist)
        return path

    def resume(self) -> bool:
        """Load ``run_dir``'s latest checkpoint (same world size); True when one was found."""
        from .checkpoint import load_checkpoint, optimizer_from_flat, set_rng_state

        root = self.run_dir / "checkpoints"
        if not (root / "latest.json").is_file():
            return False
        weights, tensors, meta = load_checkpoint(root)
        if meta.get("world_size", 1) != self.dist.world_size:
            raise ConfigError(f"checkpoint {meta['path']!r} was written by {meta['world_size']} processes; "
                              f"resume needs the same number, got {self.dist.world_size}")
        policy, _ = self.ac.checkpoint_parts()
        policy.load_state_dict(weights)
        self.ac.load_extra({k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")})
        optimizer_from_flat(self.optimizer, {k: v.to(self.device) for k, v in tensors.items()}, meta["optimizer"])
        set_rng_state(tensors, meta["rng"])
        self.gen.set_state(tensors["gen.sample"])
        self.cpu_gen.set_state(tensors["gen.minibatch"])
        self.update, self.env_steps, self.optim_steps = int(meta["update"]), int(meta["env_steps"]), int(meta["global_step"])
        self.history = list(meta.get("history", []))
        if self.history:
            self.eval_seconds = self.history[-1]["wall_s"] - self.history[-1]["train_s"]
            self.train_seconds = self.history[-1]["train_s"]
            self.timing = dict(self.history[-1]["timing"])
        return True

    def close(self) -> None:
        if self.vec is not None:
            self.vec.close()
            self.vec = None
        if self._val_env is not None:
            self._val_env.close()
            self._val_env = None


def scene_grouped_order(episodes, groups: int) -> List[str]:
    """Episode ids ordered so that the vector envs' interleaved shards (``ids[g::groups]``)
    each hold whole scenes: every worker then loads only its few houses (scene loads and
    memory drop ``groups``-fold) while a rollout still spans all of them. Groups are
    filled greedily by episode count and padded by cycling to equal length. With fewer
    scenes than groups the episodes are dealt round-robin instead (file order)."""
    by_scene: Dict[str, List[str]] = {}
    for e in episodes:
        by_scene.setdefault(e.scene_id, []).append(str(e.episode_id))
    if len(by_scene) < groups:
        return [str(e.episode_id) for e in episodes]
    bins: List[List[str]] = [[] for _ in range(groups)]
    for scene in sorted(by_scene, key=lambda k: (-len(by_scene[k]), k)):
        min(bins, key=len).extend(by_scene[scene])
    n = max(len(b) for b in bins)
    return [bins[g][i % len(bins[g])] for i in range(n) for g in range(groups)]


def _torch_dtype(np_dtype) -> torch.dtype:
    return torch.from_numpy(np.zeros(1, dtype=np_dtype)).dtype


def _config_dict(cfg, policy_cfg) -> dict:
    """The experiment config as a plain dict, with the policy config actually used."""
    import dataclasses

    d = cfg.to_dict() if hasattr(cfg, "to_dict") else dataclasses.asdict(cfg)
    d["policy"] = dataclasses.asdict(policy_cfg) if dataclasses.is_dataclass(policy_cfg) else dict(policy_cfg)
    return d
