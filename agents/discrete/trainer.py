"""Imitation learning for the discrete setting: teacher forcing, then DAgger (student forcing).

``vlnsim train --config configs/r2r_seq2seq.yaml`` (``trainer.type: r2r_dagger``) trains
the ``policy.type`` entry of ``POLICIES`` with ``setting="discrete"`` (``r2r_seq2seq``:
``R2RSeq2SeqPolicy``) on precomputed panorama features (``vlnsim extract-features``).
Iteration ``n`` rolls out episodes in ``vlnsim/R2R-v0`` taking the expert's action with
probability ``beta = beta_decay ** n`` (n = 0: pure teacher forcing) and the policy's
sampled action otherwise; every step is supervised with the shortest-path expert's
action on the graph (DAgger labels), plus ``teacher_weight`` x the loss of a
teacher-forced pass over the same episode (as R2R-EnvDrop mixes teacher and sample
feedback), averaged over ``batch_size`` episodes per update.
After each iteration the policy is evaluated greedily on ``eval_split``.

Outputs (``agents.discrete.checkpoint``): ``checkpoints/ckpt_<step>`` (the last state,
resumable), ``checkpoints/best/`` (best SR on ``eval_split``), ``tb/`` (TensorBoard:
``losses/loss`` per optimiser step; ``charts/beta``, ``eval/sr|spl|ndtw|sr_stop`` per
iteration), ``train_history.json``.

Exact resume: iteration ``n`` draws its episode order from ``default_rng((seed, n, 1))``
and its action choices from ``default_rng((seed, n, 2))`` and re-seeds torch (dropout,
sampling) with ``(seed, n)``; a checkpoint records the position inside the iteration,
the choice generator's state, torch's RNG state, the optimizer and the iteration's
losses so far. A ``--max-steps`` stop (always right after an optimiser step, so no
half-filled batch is lost) therefore resumes to the same weights, losses, history and
TensorBoard curve as the uninterrupted run, also mid-iteration. A capped run does not
evaluate; a resume from a stop at the end of an iteration evaluates it first. Bitwise
equality holds on the CPU (the default device; one episode at a time through a small
policy gains nothing from a GPU); ``--device cuda`` runs, without that guarantee.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from vlnsim.errors import CheckpointError, ConfigError

from .checkpoint import load_policy, policy_meta, save_best, save_last  # noqa: F401  (load_policy re-exported)
from .evaluate import evaluate, make_env, run_episode

# trainer.* keys a --resume may not change (the data the run learns from)
FROZEN_TRAINER_KEYS = ("data_root", "dataset", "features")


@dataclass
class R2RTrainerConfig:
    """Discrete IL settings (the ``trainer:`` section; the policy's sizes are in ``policy:``).

    Attributes:
        type: "r2r_dagger".
        data_root, dataset: where ``R2R_<split>.json`` and ``connectivity/`` live.
        features: HDF5 features file (``vlnsim extract-features``).
        iterations: DAgger iterations (iteration 0 = teacher forcing).
        episodes_per_iteration: training episodes rolled out per iteration.
        batch_size: episodes per optimiser step.
        lr: Adam learning rate.
        beta_decay: expert-action probability is ``beta_decay ** iteration``.
        teacher_weight: weight of an extra teacher-forced pass over each episode in the
            DAgger iterations (0 = plain online DAgger; without it the rare STOP labels of
            on-path states are forgotten and the agent stops walking only at the step limit).
        max_steps: env step limit (R2R agents: 15).
        eval_split: split evaluated after each iteration (selects ``checkpoints/best``).
        eval_episodes: episodes evaluated (0 = all).
    """

    type: str = "r2r_dagger"
    data_root: str = "data"
    dataset: str = "procgen_r2r_discrete"
    features: str = "data/r2r_features.h5"
    iterations: int = 4
    episodes_per_iteration: int = 400
    batch_size: int = 16
    lr: float = 1e-3
    beta_decay: float = 0.5
    teacher_weight: float = 1.0
    max_steps: int = 15
    eval_split: str = "val_unseen"
    eval_episodes: int = 0

    def validate(self, where: str = "trainer") -> None:
        for name in ("iterations", "episodes_per_iteration", "batch_size", "max_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{where}.{name}={v!r}; expected an integer >= 1")
        if isinstance(self.eval_episodes, bool) or not isinstance(self.eval_episodes, int) or self.eval_episodes < 0:
            raise ConfigError(f"{where}.eval_episodes={self.eval_episodes!r}; expected an integer >= 0 (0 = all)")
        if not (0.0 <= self.beta_decay <= 1.0):
            raise ConfigError(f"{where}.beta_decay={self.beta_decay!r}; expected a number in [0, 1]")
        if not self.teacher_weight >= 0:
            raise ConfigError(f"{where}.teacher_weight={self.teacher_weight!r}; expected a number >= 0")
        if not self.lr > 0:
            raise ConfigError(f"{where}.lr={self.lr!r}; expected a positive number")

    def check_data(self) -> None:
        """Raise ``ConfigError`` when the R2R splits or the features file are missing (before a run starts)."""
        ds = Path(self.data_root) / "datasets" / self.dataset
        for split in ("train", self.eval_split):
            if not (ds / f"R2R_{split}.json").is_file():
                have = sorted(p.stem[4:] for p in ds.glob("R2R_*.json"))
                raise ConfigError(f"trainer: split {split!r} of dataset {self.dataset!r} not found at "
                                  f"{ds / f'R2R_{split}.json'}; available splits: {have or 'none'} (create them with "
                                  "`vlnsim generate --setting discrete`)")
        if not Path(self.features).is_file():
            raise ConfigError(f"trainer.features {self.features!r} does not exist; create it with "
                              "`vlnsim extract-features --encoder DIR --out FILE`")


def build_discrete_policy(policy_cfg, vocab_size: int, feature_dim: int):
    """The ``POLICIES`` entry named by ``policy.type``; a continuous-setting policy is a ``ConfigError``."""
    from ..policies.registry import POLICIES

    name = getattr(policy_cfg, "type", None)
    discrete = [n for n in POLICIES.names() if POLICIES.meta(n).get("setting") == "discrete"]
    if name not in discrete:
        raise ConfigError(f"policy.type={name!r} is not a discrete-setting policy; trainer r2r_dagger expects one of "
                          f"{discrete} (e.g. `policy: {{type: r2r_seq2seq}}`)")
    return POLICIES.get(name)(policy_cfg, vocab_size, None, feature_dim=feature_dim)


class R2RDaggerTrainer:
    """Teacher forcing + DAgger on precomputed features (see the module docstring)."""

    def __init__(self, cfg, device: Optional[str] = "cpu", dist_info: Any = None, progress: bool = True):
        self.exp = cfg
        self.cfg: R2RTrainerConfig = cfg.trainer
        self.cfg.validate()
        if dist_info is not None and getattr(dist_info, "world_size", 1) > 1:
            raise ConfigError("trainer r2r_dagger runs in one process; expected no torchrun (world size 1)")
        from ..evaluation import resolve_device

        # one episode at a time through a small policy: the CPU is as fast; cuda works (no bitwise resume there)
        self.device = resolve_device(device or getattr(cfg, "device", "cpu"))
        self.progress = progress
        self.run_dir = Path(cfg.run_dir)
        torch.set_num_threads(max(1, int(getattr(cfg, "torch_threads", 1) or 1)))
        self.env = make_env(self.cfg, "train")
        self.eval_env = make_env(self.cfg, self.cfg.eval_split)
        dim = int(self.env.observation_space["features"].shape[-1])
        self.vocab_size = len(self.env.vocab)
        torch.manual_seed(int(cfg.seed))
        self.policy = build_discrete_policy(cfg.policy, self.vocab_size, dim).to(self.device)
        self.opt = torch.optim.Adam(self.policy.parameters(), lr=self.cfg.lr)
        self.global_step = 0
        self.iteration = 0  # current DAgger iteration
        self.position = 0  # episodes of the current iteration already trained on
        self.iter_losses: List[float] = []
        self.history: List[Dict[str, Any]] = []
        self.best_sr: Optional[float] = None
        self.rng: Optional[np.random.Generator] = None  # action choices of the current iteration
        self.writer = None

    # ----- the loop ---------------------------------------------------------------------
    def _seed_iteration(self, it: int) -> None:
        seed = int(self.exp.seed)
        self.rng = np.random.default_rng((seed, it, 2))
        torch.manual_seed(int(np.random.SeedSequence((seed, it)).generate_state(1)[0]))

    def _order(self, it: int) -> np.ndarray:
        rng = np.random.default_rng((int(self.exp.seed), it, 1))
        return rng.integers(0, len(self.env.episodes), self.cfg.episodes_per_iteration)

    def _log(self, scalars: Dict[str, float], step: int) -> None:
        if self.writer is not None:
            for k, v in scalars.items():
                self.writer.add_scalar(k, float(v), step)

    def _run_episodes(self, it: int, beta: float, stop_at: Optional[int]) -> bool:
        """Train on the rest of iteration ``it``'s episodes; True when ``stop_at`` was reached."""
        from tqdm import tqdm

        cfg = self.cfg
        order = self._order(it)
        if self.position == 0:
            self._seed_iteration(it)
        self.policy.train()

        def choose(expert, logits, obs):
            if self.rng.random() < beta:
                return expert
            return int(torch.distributions.Categorical(logits=logits.detach()).sample().item())

        batch: List[torch.Tensor] = []
        bar = tqdm(total=len(order), initial=self.position, desc=f"iter {it} beta {beta:.2f}", disable=not self.progress,
                   leave=False)
        try:
            for k in range(self.position, len(order)):
                terms, _, _ = run_episode(self.env, self.policy, int(order[k]), choose)
                ep_loss = torch.stack(terms).mean()
                if beta < 1.0 and cfg.teacher_weight > 0:
                    # EnvDrop-style: keep a teacher-forced pass on the same episode, so the labels of
                    # on-path states (STOP at the goal above all) are not forgotten as beta decays
                    tf_terms, _, _ = run_episode(self.env, self.policy, int(order[k]), lambda e, lg, o: e)
                    ep_loss = ep_loss + cfg.teacher_weight * torch.stack(tf_terms).mean()
                batch.append(ep_loss)
                bar.update(1)
                if len(batch) == cfg.batch_size or k == len(order) - 1:
                    loss = torch.stack(batch).mean()
                    self.opt.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(self.policy.parameters(), 5.0)
                    self.opt.step()
                    batch = []
                    self.global_step += 1
                    self.position = k + 1
                    self.iter_losses.append(float(loss.detach()))
                    self._log({"losses/loss": self.iter_losses[-1]}, self.global_step)
                    bar.set_postfix(loss=f"{self.iter_losses[-1]:.3f}")
                    if stop_at is not None and self.global_step >= stop_at:
                        return True
        finally:
            bar.close()
        return False

    def _finish_iteration(self, it: int, beta: float, t0: float) -> None:
        """Evaluate iteration ``it``, record it, keep the best policy, move to the next iteration."""
        cfg = self.cfg
        metrics = evaluate(self.eval_env, self.policy, episodes=cfg.eval_episodes)
        loss = float(np.mean(self.iter_losses)) if self.iter_losses else float("nan")
        self.history.append({"iteration": it, "beta": beta, "loss": loss, "global_step": self.global_step,
                             "split": cfg.eval_split, "metrics": metrics, "seconds": time.perf_counter() - t0})
        self._log({"charts/beta": beta, "eval/sr": metrics["sr"], "eval/spl": metrics["spl"],
                   "eval/ndtw": metrics["ndtw"], "eval/sr_stop": metrics["sr_stop"]}, self.global_step)
        if self.progress:
            print(f"iter {it}: loss {loss:.3f}  {cfg.eval_split} SR {metrics['sr']:.3f} SPL {metrics['spl']:.3f} "
                  f"NE {metrics['ne']:.2f}", flush=True)
        if self.best_sr is None or metrics["sr"] > self.best_sr:
            self.best_sr = float(metrics["sr"])
            save_best(self.run_dir, it, self.policy, dict(policy_meta(self.policy, self.vocab_size),
                                                          config=self.exp.to_dict(), global_step=self.global_step,
                                                          split=cfg.eval_split, metrics=metrics))
        self.iteration, self.position, self.iter_losses = it + 1, 0, []

    def train(self, resume: bool = False, max_steps: Optional[int] = None) -> Dict[str, Any]:
        """Run the remaining iterations (``max_steps``: stop after that many optimiser steps of this call)."""
        from torch.utils.tensorboard import SummaryWriter

        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
            raise ConfigError(f"--max-steps {max_steps!r}; expected a positive integer")
        if resume:
            self.resume()
        stop_at = None if max_steps is None else self.global_step + max_steps
        # events logged after the checkpoint by the interrupted run are dropped (TensorBoard purge_step)
        self.writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=self.global_step + 1 if resume else None)
        t0 = time.perf_counter()
        try:
            while self.iteration < self.cfg.iterations:
                it = self.iteration
                beta = self.cfg.beta_decay ** it
                capped = self._run_episodes(it, beta, stop_at)
                if capped:  # no evaluation in a capped run; a resume evaluates a finished iteration first
                    self.save()
                    break
                self._finish_iteration(it, beta, t0)
                self.save()
        finally:
            self.writer.flush()
            self.writer.close()
            self.writer = None
        return {"checkpoint": str(self.run_dir / "checkpoints"), "global_step": self.global_step,
                "history": self.history}

    # ----- checkpoints ------------------------------------------------------------------
    def save(self) -> Path:
        """The resumable checkpoint (``checkpoints/ckpt_<global_step>``) and ``train_history.json``."""
        from vlnsim.io_utils import atomic_write_text

        meta = dict(policy_meta(self.policy, self.vocab_size), config=self.exp.to_dict(), global_step=self.global_step,
                    dagger_iteration=self.iteration, position=self.position, iteration_losses=self.iter_losses,
                    history=self.history, best_sr=self.best_sr,
                    choice_rng=self.rng.bit_generator.state if (self.rng is not None and self.position) else None)
        path = save_last(self.run_dir, self.global_step, self.policy, self.opt, meta)
        atomic_write_text(self.run_dir / "train_history.json", json.dumps(self.history, indent=1))
        return path

    def resume(self) -> bool:
        """Load ``checkpoints/`` of the run directory if it has a checkpoint; True when resumed."""
        from ..trainers.checkpoint import (checkpoint_field, clean_leftovers, load_checkpoint, missing_pointer,
                                           restore_trainer_state)

        root = self.run_dir / "checkpoints"
        clean_leftovers(root)
        if not (root / "latest.json").is_file():
            missing_pointer(root)  # checkpoints without latest.json: refuse rather than overwrite them
            return False
        weights, tensors, meta = load_checkpoint(root)
        if meta.get("trainer") != "r2r_dagger":
            raise CheckpointError(f"{meta['path']}: written by trainer {meta.get('trainer')!r}; expected r2r_dagger")
        saved = (meta.get("config") or {}).get("trainer") or {}
        for key in FROZEN_TRAINER_KEYS:
            if key in saved and saved[key] != getattr(self.cfg, key):
                raise ConfigError(f"--resume: trainer.{key} changed from {saved[key]!r} to {getattr(self.cfg, key)!r}; "
                                  "the data of a run cannot change (use --fresh or another --run-dir)")
        try:
            self.policy.load_state_dict(weights)
        except RuntimeError as exc:
            raise CheckpointError(f"{meta['path']}/model.safetensors: does not match this run's policy "
                                  f"({' '.join(str(exc).split())[:160]})") from None
        restore_trainer_state(self.opt, tensors, meta)
        for group in self.opt.param_groups:  # the current config's lr wins (agents.run_dir warns about it)
            group["lr"] = self.cfg.lr
        self.global_step = checkpoint_field(meta, "global_step", int)
        self.iteration = checkpoint_field(meta, "dagger_iteration", int)
        self.position = checkpoint_field(meta, "position", int)
        self.iter_losses = [float(x) for x in checkpoint_field(meta, "iteration_losses", list)]
        self.history = list(checkpoint_field(meta, "history", list))
        best = meta.get("best_sr")
        self.best_sr = None if best is None else float(best)
        self.rng = None
        if self.position:
            state = checkpoint_field(meta, "choice_rng", dict)
            self.rng = np.random.default_rng()
            try:
                self.rng.bit_generator.state = state
            except (TypeError, ValueError, KeyError) as exc:
                raise CheckpointError(f"{meta['path']}/trainer_state.json: choice_rng is not a PCG64 state ({exc}); "
                                      "the file is corrupted") from None
        return True

    def close(self) -> None:
        self.env.close()
        self.eval_env.close()
