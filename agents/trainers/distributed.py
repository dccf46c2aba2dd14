"""``torch.distributed`` helpers: process-group setup from torchrun's env, reductions.

Under ``torchrun`` (RANK / WORLD_SIZE / LOCAL_RANK set) ``init_distributed`` joins the
group with NCCL on CUDA and gloo on CPU; single-process runs skip it entirely.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, Optional

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str, init_method: Optional[str] = None, rank: Optional[int] = None,
                     world_size: Optional[int] = None) -> DistInfo:
    """Join the process group described by torchrun's env vars (or the arguments)."""
    world = int(world_size if world_size is not None else os.environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return DistInfo()
    r = int(rank if rank is not None else os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", r))
    if not dist.is_initialized():
        backend = "nccl" if device == "cuda" else "gloo"
        if device == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend, init_method=init_method or "env://", rank=r, world_size=world)
    return DistInfo(rank=r, world_size=world, local_rank=local)


def shutdown_distributed() -> None:
    """Leave the process group if one was joined.

    Ranks meet at a barrier first: a rank that tears gloo down while a peer still has a
    collective or a connection in flight can abort that peer (``terminate called without an
    active exception``). If a peer is already gone the barrier fails and we leave anyway.
    """
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        except Exception:  # a dead peer: nothing to wait for
            pass
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def broadcast_module(module: torch.nn.Module, info: DistInfo) -> None:
    """Copy rank 0's parameters and buffers to every rank (same initial weights)."""
    if not info.enabled:
        return
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def reduce_mean(values: Dict[str, float], info: DistInfo, device: torch.device) -> Dict[str, float]:
    """Average scalar metrics over ranks."""
    if not info.enabled or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= info.world_size
    return {k: float(v) for k, v in zip(keys, t.tolist())}


def reduce_min_int(value: int, info: DistInfo, device: torch.device) -> int:
    """The minimum of an integer over ranks (e.g. batches per epoch, to keep ranks in step)."""
    if not info.enabled:
        return int(value)
    t = torch.tensor([int(value)], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return int(t.item())


def setup_process(cfg, device: Optional[str], dist_info: Optional[DistInfo]):
    """This process's torch threads, distributed info and device (``cuda:<local_rank>`` under DDP).

    Shared by the trainers: ``cfg`` is an experiment config (``torch_threads``, ``device``).
    """
    from ..evaluation import resolve_device

    if getattr(cfg, "torch_threads", 0) > 0:
        torch.set_num_threads(cfg.torch_threads)
    info = dist_info or DistInfo()
    dev = resolve_device(device or cfg.device)
    if info.enabled and dev.type == "cuda":
        dev = torch.device("cuda", info.local_rank)
    return info, dev

