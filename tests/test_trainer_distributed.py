"""Two-process gloo DDP: ranks start from different seeds, train on different data, and
end with identical parameters (rank 0's broadcast + averaged gradients)."""
import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from agents.config import TrainerConfig
from agents.trainers.buffer import EpisodeRecord, collate

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


def _worker(rank, world, init_file, result_file, policy_cfg):
    from agents.policies import build_policy
    from agents.trainers.distributed import DistInfo, init_distributed, shutdown_distributed
    from agents.trainers.learner import Learner

    torch.set_num_threads(1)
    info = init_distributed("cpu", init_method=f"file://{init_file}", rank=rank, world_size=world)
    assert info == DistInfo(rank, world, rank)
    torch.manual_seed(rank)  # different initial weights on each rank
    # Depth + instruction only: no CLIP keeps the workers from importing transformers (slow).
    policy = build_policy(policy_cfg, V, None)
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


def test_two_process_gloo_keeps_parameters_identical(tmp_path, small_policy_config):
    result = tmp_path / "result.pt"
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(result), small_policy_config("cma")), nprocs=2, join=True)
    r = torch.load(result, weights_only=True)
    assert torch.equal(r["starts"][0], r["starts"][1])  # rank 0's weights were broadcast
    assert torch.equal(r["params"][0], r["params"][1])  # and stayed identical after 3 steps
    assert not torch.equal(r["params"][0], r["starts"][0])  # training did change them
    assert torch.isfinite(r["losses"]).all()


@pytest.mark.slow
def test_torchrun_two_ranks_train_end_to_end(tiny_dataset, tmp_path):
    """`torchrun --nproc_per_node 2 vlnsim train` on the tiny dataset: both ranks collect their own
    episodes, train in step, and rank 0 writes one checkpoint."""
    import shutil
    import subprocess
    import sys

    root, DATASET = tiny_dataset.root, tiny_dataset.name
    torchrun = shutil.which("torchrun") or str(__import__("pathlib").Path(sys.executable).with_name("torchrun"))
    cli = str(__import__("pathlib").Path(sys.executable).with_name("vlnsim"))
    overrides = [f"env.data_root={root}", f"env.dataset={DATASET}", "env.width=32", "env.height=32",
                 "env.max_episode_steps=40", "policy.hidden_size=32", "policy.vision.tiny_image_size=32",
                 "policy.vision.tiny_patch_size=8", "policy.depth.input_size=32", "policy.depth.trainable=false",
                 "trainer.iterations=1", "trainer.episodes_per_iteration=4", "trainer.epochs_per_iteration=1",
                 "trainer.batch_size=2", "trainer.num_envs=1", "trainer.max_collect_steps=30", "eval.split=null"]
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", cli, "train", "--config",
           str(__import__("pathlib").Path(__file__).resolve().parents[1] / "configs" / "il_cma_demo_cpu.yaml"),
           "--run-dir", str(tmp_path / "run"), "--device", "cpu", "--no-progress", *overrides]
    subprocess.run(cmd, check=True, timeout=600)
    assert (tmp_path / "run" / "checkpoints" / "ckpt_0000" / "model.safetensors").is_file()
    assert sorted(p.name for p in (tmp_path / "run" / "buffer").glob("rank*_iter0000.safetensors")) == [
        "rank0_iter0000.safetensors", "rank1_iter0000.safetensors"]
