"""Imitation learning: teacher forcing and DAgger with data aggregation (VLN-CE style).

Iteration i: collect ``episodes_per_iteration`` episodes (split over ranks) executing
the expert's action with probability beta = p ** i and the policy's otherwise, always
labelling with the expert's action; add them to the bounded buffer; train
``epochs_per_iteration`` passes over the buffer with inflection-weighted cross-entropy
plus the progress-monitor MSE; evaluate; checkpoint. Everything random in iteration i
is drawn from generators seeded with (seed, i, ...), and checkpoints are taken at
iteration boundaries, so ``--resume`` reproduces the uninterrupted run: on the CPU the
losses, the TensorBoard curve and the weights are bitwise equal (the feature cache keys
exact poses and encodes misses in fixed-size batches, so its contents, empty after a
resume, change nothing). On CUDA, bitwise equality also needs deterministic kernels
(``torch.use_deterministic_algorithms(True)``, ``CUBLAS_WORKSPACE_CONFIG=:4096:8``),
which the trainer does not force; without them atomics in backward passes leave
run-to-run noise (not measured here: no GPU). A ``--max-steps`` stop inside
an iteration counts that iteration as done; resuming from it continues, but is not the
uninterrupted run.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from vlnsim.errors import CheckpointError, ConfigError

from ..config import ExperimentConfig, TrainerConfig
from ..evaluation import PolicyAgent, aggregate, evaluate_episodes, select_episodes
from ..feature_cache import FeatureCache, namespace_of
from ..policies import POLICIES, Policy, build_policy, check_policy_meta, policy_meta
from .buffer import TrajectoryBuffer, collate
from .checkpoint import (checkpoint_field, clean_leftovers, load_checkpoint, missing_pointer, restore_trainer_state,
                         save_checkpoint)
from .collector import RolloutCollector, camera_specs
from .dagger import dagger_beta, episode_schedule, inflection_coefficient
from .distributed import DistInfo, barrier, reduce_mean, reduce_min_int, setup_process
from .learner import Learner
from .registry import TRAINERS


def ensure_tiny_clip(run_dir: Path, cfg: ExperimentConfig, vocab_size: int, max_len: int) -> Path:
    """Build the run's tiny random CLIP once (vocab = dataset vocabulary) and return its dir."""
    from ..encoders import build_tiny_clip

    v = cfg.policy.vision
    d = run_dir / "tiny_clip"
    if not (d / "config.json").is_file():
        build_tiny_clip(d, vocab_size=vocab_size, image_size=v.tiny_image_size, patch_size=v.tiny_patch_size,
                        hidden_size=v.tiny_hidden_size, num_layers=v.tiny_layers, num_heads=v.tiny_heads,
                        projection_dim=v.tiny_projection_dim, max_position_embeddings=max(max_len, 77), seed=v.tiny_seed)
    return d


def length_bucketed_batches(lengths, batch_size: int, rng: np.random.Generator, pool: int = 8) -> List[List[int]]:
    """Shuffled batches of similar-length episodes (less padding in the time loop).

    Episodes are shuffled, cut into pools of ``pool * batch_size``, sorted by length
    inside each pool and split into batches; the batch order is shuffled again.
    """
    perm = rng.permutation(len(lengths))
    batches: List[List[int]] = []
    for s in range(0, len(perm), pool * batch_size):
        chunk = sorted(perm[s:s + pool * batch_size].tolist(), key=lambda i: lengths[i])
        batches += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


@TRAINERS.register("dagger", config=TrainerConfig)
class ILTrainer:
    """Teacher forcing / DAgger trainer over vlnsim VLN envs.

    Args:
        cfg: the experiment config.
        device: overrides ``cfg.device`` ("cpu", "cuda", "auto").
        dist_info: this process's rank (``init_distributed``); single process when None.
        progress: show tqdm bars.
    """

    def __init__(self, cfg: ExperimentConfig, device: Optional[str] = None, dist_info: Optional[DistInfo] = None,
                 progress: bool = True):
        import envs
        from vlnsim.episodes import load_split

        self.cfg = cfg
        self.dist, self.device = setup_process(cfg, device, dist_info)
        self.progress = progress and self.dist.is_main
        setting = POLICIES.meta(cfg.policy.type).get("setting", "continuous")
        if setting != "continuous":
            choices = [n for n in POLICIES.names() if POLICIES.meta(n).get("setting", "continuous") == "continuous"]
            raise ConfigError(f"policy.type={cfg.policy.type!r} is a {setting}-setting policy; the dagger trainer "
                              f"trains continuous (VLN-CE) policies: expected one of {choices}")
        self.run_dir = Path(cfg.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env_dict = dict(cfg.env)
        env_dict.setdefault("split", "train")
        self.env_config = envs.load_config(env_dict)
        dataset = load_split(self.env_config.data_root, self.env_config.dataset, self.env_config.split, self.env_config.version)
        self.train_ids = [str(e.episode_id) for e in dataset.episodes]
        self.vocab_size = len(dataset.word_list)
        if self.vocab_size < 2:
            raise ConfigError(f"dataset {self.env_config.dataset!r} split {self.env_config.split!r} has no word_list; expected a VLN split")
        self.word_list = [str(w) for w in dataset.word_list]
        semantic = getattr(cfg.policy, "semantic", None)
        if semantic is not None and semantic.enabled and not self.env_config.semantic:
            raise ConfigError("policy.semantic.enabled=true needs env.semantic=true (the semantic sensor); got env.semantic=false")
        clip_source = cfg.policy.vision.clip
        if clip_source is None:
            if self.dist.is_main:
                ensure_tiny_clip(self.run_dir, cfg, self.vocab_size, self.env_config.max_instruction_length)
            barrier(self.dist)
            clip_source = str(self.run_dir / "tiny_clip")
        self.clip_source = clip_source
        torch.manual_seed(cfg.seed)  # weight init; ranks then copy rank 0's weights anyway
        self.policy: Policy = build_policy(cfg.policy, self.vocab_size, clip_source, word_list=self.word_list).to(self.device)
        t = cfg.trainer
        self.learner = Learner(self.policy, t, self.device, self.dist)
        self.optimizer = self.learner.optimizer
        self.buffer = TrajectoryBuffer(self.run_dir / "buffer", t.buffer_max_steps, rank=self.dist.rank)
        self.cache = None
        if t.cache.enabled and self.policy.rgb_frozen and self.policy.depth_frozen:
            parts = [[s.__dict__ for s in camera_specs(self.env_config)], self.policy.clip.config_dict(),
                     _weights_digest(self.policy.clip), _weights_digest(self.policy.depth_encoder.stem),
                     _weights_digest(self.policy.depth_encoder.stages), cfg.policy.depth.__dict__]
            if self.policy.clip.patch_grid is not None:  # pooled patch tokens are other features
                parts.append({"patch_grid": self.policy.clip.patch_grid})
            if self.policy.semantic_encoder is not None:  # the semantic histogram joins the cached features
                from envs.sensors import SEMANTIC_CATEGORIES

                parts += [cfg.policy.semantic.grid, list(SEMANTIC_CATEGORIES)]
            ns = namespace_of(*parts)
            self.cache = FeatureCache(t.cache.max_items, t.cache.disk_dir, ns, t.cache.position_quantum, t.cache.yaw_quantum_deg)
        self.collector: Optional[RolloutCollector] = None
        self.global_step = 0
        self.iteration = 0  # next iteration to run
        self.inflection_coef: Optional[float] = None if t.inflection_weight == "auto" else float(t.inflection_weight)
        self.history: List[Dict[str, Any]] = []
        self.writer = None
        self._val_env = None
        self._stop_at: Optional[int] = None  # global step at which --max-steps stops

    def train_step(self, batch: Dict[str, torch.Tensor]) -> Dict[str, float]:
        """One optimizer step on a collated batch (see ``Learner.train_step``)."""
        return self.learner.train_step(batch)

    # ----- the loop ---------------------------------------------------------------------
    def _log(self, scalars: Dict[str, float], step: int) -> None:
        if self.writer is not None:
            for k, v in scalars.items():
                self.writer.add_scalar(k, v, step)

    def _collector(self) -> RolloutCollector:
        if self.collector is None:
            t = self.cfg.trainer
            self.collector = RolloutCollector(self.env_config, t.num_envs, self.policy, self.device, self.cache, t.max_collect_steps)
        return self.collector

    def run_iteration(self, it: int) -> Dict[str, Any]:
        """Collect, aggregate and train for DAgger iteration ``it``; returns its summary."""
        t = self.cfg.trainer
        beta = dagger_beta(t.dagger_p, it)
        ids = episode_schedule(self.train_ids, self.cfg.seed, it, t.episodes_per_iteration)[self.dist.rank::self.dist.world_size]
        if self._stop_at is not None:  # a --max-steps smoke run collects only what its steps can use
            ids = ids[:max(1, (self._stop_at - self.global_step) * t.batch_size)]
        self.policy.eval()
        t0 = time.perf_counter()
        records = self._collector().collect(ids, beta, seed=(self.cfg.seed, it, self.dist.rank), progress=self.progress,
                                            desc=f"iter {it} collect (beta={beta:.2f})")
        collect_s = time.perf_counter() - t0
        steps = sum(len(r) for r in records)
        self.buffer.add(it, records)
        if self.inflection_coef is None:
            local = inflection_coefficient([r.labels for r in records])
            self.inflection_coef = reduce_mean({"c": local}, self.dist, self.device)["c"]
        losses: List[Dict[str, float]] = []
        episodes = self.buffer.episodes
        bs = t.batch_size
        nb = reduce_min_int(math.ceil(len(episodes) / bs), self.dist, self.device)
        from tqdm import tqdm

        bar = tqdm(total=nb * t.epochs_per_iteration, desc=f"iter {it} train (beta={beta:.2f})", unit="batch",
                   disable=not self.progress, leave=False)
        for epoch in range(t.epochs_per_iteration):
            rng = np.random.default_rng((self.cfg.seed, it, epoch, self.dist.rank, 31))
            batches = length_bucketed_batches([len(r) for r in episodes], bs, rng)
            for b in range(nb):
                batch = collate([episodes[i] for i in batches[b]], self.device, self.inflection_coef)
                res = self.train_step(batch)
                self.global_step += 1
                losses.append(res)
                if self.global_step % t.log_every == 0:
                    red = reduce_mean(res, self.dist, self.device)
                    self._log({f"losses/{k}": v for k, v in red.items() if k != "accuracy"}, self.global_step)
                    self._log({"charts/accuracy": red["accuracy"], "charts/lr": self.optimizer.param_groups[0]["lr"]}, self.global_step)
                bar.update(1)
                bar.set_postfix(loss=f"{res['total']:.3f}", acc=f"{res['accuracy']:.2f}")
                if self._stop_at is not None and self.global_step >= self._stop_at:
                    break
            if self._stop_at is not None and self.global_step >= self._stop_at:
                break
        bar.close()
        mean = {k: float(np.mean([l[k] for l in losses])) for k in losses[0]} if losses else {}
        mean = reduce_mean(mean, self.dist, self.device)
        summary = {"iteration": it, "beta": beta, "collected_episodes": len(records), "collected_steps": steps,
                   "collect_steps_per_s": steps / max(collect_s, 1e-9), "buffer_steps": self.buffer.num_steps,
                   "inflection_coef": self.inflection_coef, "losses": mean,
                   "first_losses": losses[0] if losses else {}, "last_losses": losses[-1] if losses else {}}
        if self.cache is not None:
            summary["cache_hit_rate"] = self.cache.hit_rate
        self._log({"charts/beta": beta, "charts/buffer_steps": self.buffer.num_steps,
                   "charts/collect_steps_per_s": summary["collect_steps_per_s"]}, self.global_step)
        return summary

    def evaluate(self, split: Optional[str] = None, episodes: Optional[int] = None) -> Dict[str, float]:
        """Deterministic policy on ``split`` (rank 0); returns the aggregate metrics."""
        import envs

        split = split or self.cfg.eval.split
        if self._val_env is None or self._val_env.unwrapped.config.split != split:
            self._val_env = envs.make_env(self.env_config.replace(split=split, expert_action_sensor=False, progress_sensor=False))
        base = self._val_env.unwrapped
        ids = select_episodes([e.episode_id for e in base.episodes.episodes], episodes if episodes is not None else self.cfg.eval.episodes)
        self.policy.eval()
        recs = evaluate_episodes(self._val_env, PolicyAgent(self.policy, self.device), ids, progress=self.progress, desc=f"eval {split}")
        self.policy.train()
        return aggregate(recs)

    def train(self, resume: bool = False, max_steps: Optional[int] = None, stop_after: Optional[int] = None) -> Dict[str, Any]:
        """Run the remaining iterations.

        ``max_steps`` stops after that many optimiser steps of this call (mid-iteration;
        the checkpoint then counts the iteration as done and no evaluation runs), for
        smoke tests. ``stop_after`` ends after that many iterations (e.g. to test resume).
        """
        from torch.utils.tensorboard import SummaryWriter

        if resume:
            self.resume()
        # A resumed run's event files may hold steps logged after its checkpoint: TensorBoard
        # drops events at or past purge_step, so the resumed run does not repeat steps.
        purge_step = self.global_step + 1 if resume else None
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
            raise ConfigError(f"--max-steps {max_steps!r}; expected a positive integer")
        self._stop_at = None if max_steps is None else self.global_step + max_steps
        if self.dist.is_main:
            self.writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=purge_step)
        t = self.cfg.trainer
        last = t.iterations - 1
        try:
            for it in range(self.iteration, t.iterations):
                summary = self.run_iteration(it)
                capped = self._stop_at is not None and self.global_step >= self._stop_at
                e = self.cfg.eval
                if self.dist.is_main and e.split and not capped and ((it + 1) % e.every == 0 or it == last):
                    m = self.evaluate()
                    summary["eval"] = m
                    self._log({"eval/sr": m["sr"], "eval/spl": m["spl"], "eval/ndtw": m["ndtw"]}, self.global_step)
                self.history.append(summary)
                self.iteration = it + 1
                stop = capped or (stop_after is not None and it + 1 >= stop_after)
                if it % t.checkpoint_every == 0 or it == last or stop:
                    self.save(it)
                if self.progress:
                    ev = summary.get("eval")
                    msg = f"[iter {it}] beta={summary['beta']:.2f} loss={summary['losses'].get('total', float('nan')):.4f} " \
                          f"steps={summary['collected_steps']} ({summary['collect_steps_per_s']:.0f}/s) buffer={summary['buffer_steps']}"
                    if ev:
                        msg += f" | {self.cfg.eval.split} sr={ev['sr']:.3f} spl={ev['spl']:.3f} ndtw={ev['ndtw']:.3f}"
                    print(msg, flush=True)
                if stop:
                    break
        finally:
            if self.writer is not None:
                self.writer.flush()
                self.writer.close()
                self.writer = None
        if self.dist.is_main:
            from vlnsim.io_utils import atomic_write_text

            atomic_write_text(self.run_dir / "train_history.json", json.dumps(self.history, indent=1))
        return {"history": self.history, "checkpoint": str(self.run_dir / "checkpoints"), "global_step": self.global_step}

    # ----- checkpoints ------------------------------------------------------------------
    def save(self, it: int) -> None:
        """Checkpoint after iteration ``it`` (rank 0 writes; every rank records its buffer)."""
        from vlnsim.io_utils import atomic_write_text

        atomic_write_text(self.run_dir / "buffer" / f"state_rank{self.dist.rank}_iter{it:04d}.json", json.dumps(self.buffer.state()))
        barrier(self.dist)
        if self.dist.is_main:
            meta = {"config": self.cfg.to_dict(), "vocab_size": self.vocab_size, "clip_config": self.policy.clip.config_dict()
                    if self.policy.clip is not None else None, "clip_source": self.clip_source,
                    "env": self.env_config.to_dict(), "global_step": self.global_step, "next_iteration": it + 1,
                    "inflection_coef": self.inflection_coef, "world_size": self.dist.world_size,
                    "history": self.history, "word_list": self.word_list}
            meta.update(policy_meta(self.policy))
            save_checkpoint(self.run_dir / "checkpoints", it, self.policy, self.optimizer, meta)
        barrier(self.dist)

    def resume(self) -> bool:
        """Load the latest checkpoint of ``run_dir`` if there is one; True when resumed."""
        root = self.run_dir / "checkpoints"
        if self.dist.is_main:
            clean_leftovers(root)  # what an interrupted save left behind
        _clean_buffer_leftovers(self.run_dir / "buffer", self.dist.rank)
        barrier(self.dist)
        if not (root / "latest.json").is_file():
            missing_pointer(root)  # checkpoints without latest.json: refuse rather than overwrite them
            return False
        weights, tensors, meta = load_checkpoint(root)
        if meta.get("world_size", 1) != self.dist.world_size:
            raise ConfigError(f"checkpoint {meta['path']!r} was written by {meta['world_size']} processes; "
                              f"resume needs the same number, got {self.dist.world_size}")
        missing, unexpected = self.policy.load_state_dict(weights, strict=False)
        missing = [k for k in missing if not k.endswith(("position_ids", ".mean", ".std"))]  # non-persistent buffers
        if missing or unexpected:
            raise CheckpointError(f"{meta['path']}/model.safetensors: does not match this run's policy "
                                  f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        check_policy_meta(self.policy, meta, str(meta["path"]))
        restore_trainer_state(self.optimizer, tensors, meta, self.device)
        for group in self.optimizer.param_groups:  # the current config's hyper-parameters win (see agents.run_dir)
            group["lr"] = self.cfg.trainer.lr
            group["weight_decay"] = self.cfg.trainer.weight_decay
        self.global_step = checkpoint_field(meta, "global_step", int)
        self.iteration = checkpoint_field(meta, "next_iteration", int)
        coef = checkpoint_field(meta, "inflection_coef")
        self.inflection_coef = None if coef is None else float(coef)
        self.history = list(meta.get("history", []))
        state = _read_buffer_state(self.run_dir / "buffer", self.dist.rank, self.iteration - 1)
        from safetensors import SafetensorError

        try:
            self.buffer.restore(state)
        except (OSError, ValueError, KeyError, SafetensorError) as exc:
            raise _buffer_error(self.run_dir / "buffer", exc) from None
        return True

    def close(self) -> None:
        if self.collector is not None:
            self.collector.close()
        if self._val_env is not None:
            self._val_env.close()


def _clean_buffer_leftovers(directory: Path, rank: int) -> None:
    """Delete this rank's half-written buffer files (``.rank<r>_iter*.safetensors.tmp<pid>``,
    ``.state_rank<r>_iter*.json.*.tmp``) that an interrupted run left; each rank writes only its own."""
    if not Path(directory).is_dir():
        return
    for pattern in (f".rank{rank}_iter*.safetensors.tmp*", f".state_rank{rank}_iter*.json.*.tmp"):
        for p in Path(directory).glob(pattern):
            p.unlink(missing_ok=True)


def _buffer_error(directory: Path, exc: BaseException):
    return CheckpointError(f"{directory}: a DAgger buffer shard is unreadable ({type(exc).__name__}: "
                           f"{' '.join(str(exc).split())[:160]}); the shard is truncated or corrupted")


def _read_buffer_state(directory: Path, rank: int, it: int) -> dict:
    """The buffer position saved with checkpoint ``it`` (CheckpointError when unreadable)."""
    path = Path(directory) / f"state_rank{rank}_iter{it:04d}.json"
    try:
        state = json.loads(path.read_text())
        shards = [[str(name), int(first)] for name, first in state["shards"]]
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; the DAgger buffer of checkpoint iteration {it} is needed to resume") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: unreadable DAgger buffer state ({type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:120]}); the file is corrupted") from None
    missing = [name for name, _ in shards if not (Path(directory) / name).is_file()]
    if missing:
        raise CheckpointError(f"{path}: names buffer shard {missing[0]!r}, which is missing from {directory}")
    return dict(state, shards=shards)


def _weights_digest(module: torch.nn.Module) -> str:
    import hashlib

    h = hashlib.sha1()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes()[:4096])
    return h.hexdigest()[:16]
