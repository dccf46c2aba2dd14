"""The DAgger data store: collected episodes, bounded, persisted as safetensors shards.

Each collection round writes its episodes once to ``<dir>/rank<r>_iter<i>.safetensors``
(per-step arrays concatenated along time, lengths alongside). The buffer in memory is
the newest episodes whose steps fit ``max_steps``; its position (which shards, from
which episode on) goes into the trainer checkpoint so resume rebuilds it exactly.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from .dagger import inflection_weights

STEP_KEYS = ("prev_actions", "actions", "labels", "progress")


@dataclass
class EpisodeRecord:
    """One collected episode.

    Attributes:
        episode_id: dataset episode id.
        instruction: (L,) int64 word ids without padding.
        frames: per-step observations/features, each (T, ...): ``depth`` (raw) or
            ``depth_features`` (frozen trunk), and ``rgb`` (uint8) or
            ``rgb_pooled``/``rgb_patches`` (frozen CLIP features), and
            ``semantic_features`` (semantic grid histograms) when the policy reads them.
        prev_actions: (T,) action executed before each step (0 at t = 0, masked).
        actions: (T,) executed actions.
        labels: (T,) expert actions (the training targets).
        progress: (T,) progress oracle.
    """

    episode_id: str
    instruction: np.ndarray
    frames: Dict[str, np.ndarray]
    prev_actions: np.ndarray
    actions: np.ndarray
    labels: np.ndarray
    progress: np.ndarray

    def __len__(self) -> int:
        return int(len(self.labels))


def save_shard(path: Path, records: Sequence[EpisodeRecord]) -> None:
    """Write records to one safetensors file (atomic rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: Dict[str, np.ndarray] = {
        "lengths": np.array([len(r) for r in records], dtype=np.int64),
        "instruction_lengths": np.array([len(r.instruction) for r in records], dtype=np.int64),
        "instructions": np.concatenate([r.instruction for r in records]).astype(np.int64) if records else np.zeros(0, np.int64),
    }
    for k in STEP_KEYS:
        arrays[k] = np.concatenate([getattr(r, k) for r in records]) if records else np.zeros(0)
    for k in (records[0].frames if records else {}):
        arrays["frame." + k] = np.ascontiguousarray(np.concatenate([r.frames[k] for r in records]))
    meta = {"episode_ids": json.dumps([r.episode_id for r in records])}
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    save_file(arrays, str(tmp), metadata=meta)
    os.replace(tmp, path)


def load_shard(path: Path) -> List[EpisodeRecord]:
    """Read the records ``save_shard`` wrote."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as fh:
        ids = json.loads(fh.metadata()["episode_ids"])
    a = load_file(str(path))
    lengths, ilen = a["lengths"], a["instruction_lengths"]
    starts = np.concatenate([[0], np.cumsum(lengths)])
    istarts = np.concatenate([[0], np.cumsum(ilen)])
    frame_keys = [k for k in a if k.startswith("frame.")]
    out = []
    for i, eid in enumerate(ids):
        s, e = starts[i], starts[i + 1]
        out.append(EpisodeRecord(
            episode_id=eid, instruction=a["instructions"][istarts[i]:istarts[i + 1]],
            frames={k[6:]: a[k][s:e] for k in frame_keys},
            **{k: a[k][s:e] for k in STEP_KEYS},
        ))
    return out


@dataclass
class TrajectoryBuffer:
    """Aggregated episodes across DAgger iterations, newest kept within ``max_steps``."""

    directory: Path
    max_steps: int
    rank: int = 0
    shards: List[List] = field(default_factory=list)  # [[shard file name, first kept episode index], ...]
    _records: Dict[str, List[EpisodeRecord]] = field(default_factory=dict)

    def add(self, iteration: int, records: Sequence[EpisodeRecord]) -> None:
        """Persist this round's records as a shard and evict the oldest beyond ``max_steps``."""
        name = f"rank{self.rank}_iter{iteration:04d}.safetensors"
        save_shard(Path(self.directory) / name, records)
        self._records[name] = list(records)
        self.shards.append([name, 0])
        self._evict()

    def _evict(self) -> None:
        total = self.num_steps
        while total > self.max_steps and self.shards:
            name, first = self.shards[0]
            recs = self._records[name]
            if first >= len(recs) - 1 and len(self.shards) == 1:
                break  # always keep at least one episode
            total -= len(recs[first])
            self.shards[0][1] = first + 1
            if self.shards[0][1] >= len(recs):
                self.shards.pop(0)
                self._records.pop(name, None)

    @property
    def episodes(self) -> List[EpisodeRecord]:
        """The kept episodes, oldest first."""
        out: List[EpisodeRecord] = []
        for name, first in self.shards:
            out.extend(self._records[name][first:])
        return out

    @property
    def num_steps(self) -> int:
        return sum(len(r) for name, first in self.shards for r in self._records[name][first:])

    def state(self) -> dict:
        """JSON-able position (which shards, from which episode) for checkpoints."""
        return {"shards": [list(s) for s in self.shards], "max_steps": self.max_steps}

    def restore(self, state: dict) -> None:
        """Reload the shards named in ``state`` (the inverse of ``state``)."""
        self.shards = [list(s) for s in state["shards"]]
        self._records = {name: load_shard(Path(self.directory) / name) for name, _ in self.shards}


def collate(records: Sequence[EpisodeRecord], device: torch.device, inflection_coef: float) -> Dict[str, torch.Tensor]:
    """Pad episodes into time-major tensors (T, B, ...) plus loss masks and weights."""
    B = len(records)
    T = max(len(r) for r in records)
    L = max(max(len(r.instruction) for r in records), 1)
    instruction = np.zeros((B, L), np.int64)
    for b, r in enumerate(records):
        instruction[b, : len(r.instruction)] = r.instruction
    out: Dict[str, np.ndarray] = {"instruction": instruction, "instruction_mask": (instruction != 0).astype(np.int8)}
    valid = np.zeros((T, B), np.float32)
    steps = {k: np.zeros((T, B), np.int64) for k in ("prev_actions", "actions", "labels")}
    progress = np.zeros((T, B), np.float32)
    weights = np.zeros((T, B), np.float32)
    for b, r in enumerate(records):
        n = len(r)
        valid[:n, b] = 1.0
        for k in steps:
            steps[k][:n, b] = getattr(r, k)
        progress[:n, b] = r.progress
        weights[:n, b] = inflection_weights(r.labels, inflection_coef)
    for k, first in records[0].frames.items():
        arr = np.zeros((T, B) + first.shape[1:], first.dtype)
        for b, r in enumerate(records):
            arr[: len(r), b] = r.frames[k]
        out[k] = arr
    masks = valid.copy()
    masks[0] = 0.0  # every column starts an episode: reset state and previous action
    out.update(steps, progress=progress, weights=weights, valid=valid, masks=masks)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()}
    for k in ("rgb_pooled", "rgb_patches", "depth", "depth_features", "semantic_features"):
        if k in tensors:
            tensors[k] = tensors[k].float()
    return {k: v.to(device, non_blocking=True) for k, v in tensors.items()}
