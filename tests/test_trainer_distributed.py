"""Two-process gloo DDP: ranks start from different seeds, train on different data, and
end with identical parameters (rank 0's broadcast + averaged gradients)."""
import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from agents.config import TrainerConfig
from agents.trainers.buffer import EpisodeRecord, collate

from test_policies import _cfg  # same small policy settings

V = 40


def _records(rank: int, n: int = 4):
    g = np.random.default_rng(100 + rank)  # each rank on its own episodes
    out = []
    for i in range(n):
        T = 3 + i
        labels = g.integers(0, 4, T)
        ins = g.integers(1, V, 6)
        out.append(EpisodeRecord(f"r{rank}e{i}", ins, {"depth": g.random((T, 32, 32, 1)).astype(np.float16)},
                                 np.concatenate([[0], labels[:-1]]), labels, labels, g.random(T).astype(np.float32)))
    return out


def _worker(rank, world, init_file, result_file):
    from agents.policies import build_policy
    from agents.trainers.distributed import DistInfo, init_distributed, shutdown_distributed
    from agents.trainers.learner import Learner

    torch.set_num_threads(1)
    info = init_distributed("cpu", init_method=f"file://{init_file}", rank=rank, world_size=world)
    assert info == DistInfo(rank, world, rank)
    torch.manual_seed(rank)  # different initial weights on each rank
    # Depth + instruction only: no CLIP keeps the workers from importing transformers (slow).
    policy = build_policy(_cfg("cma"), V, None)
    learner = Learner(policy, TrainerConfig(lr=1e-2), torch.device("cpu"), info)
    start = torch.cat([p.detach().flatten().clone() for p in policy.parameters() if p.requires_grad])
    batch = collate(_records(rank), torch.device("cpu"), inflection_coef=2.0)
    losses = [learner.train_step(batch)["total"] for _ in range(3)]
    flat = torch.cat([p.detach().flatten() for p in policy.parameters() if p.requires_grad])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    starts = [torch.zeros_like(start) for _ in range(world)]
    dist.all_gather(starts, start)
    if rank == 0:
        torch.save({"params": torch.stack(gathered), "starts": torch.stack(starts),
                    "losses": torch.tensor(losses)}, result_file)
    shutdown_distributed()


def test_two_process_gloo_keeps_parameters_identical(tmp_path):
    result = tmp_path / "result.pt"
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(result)), nprocs=2, join=True)
    r = torch.load(result, weights_only=True)
    assert torch.equal(r["starts"][0], r["starts"][1])  # rank 0's weights were broadcast
    assert torch.equal(r["params"][0], r["params"][1])  # and stayed identical after 3 steps
    assert not torch.equal(r["params"][0], r["starts"][0])  # training did change them
    assert torch.isfinite(r["losses"]).all()
