"""DD-PPO with two gloo processes: ranks collect different episodes, average gradients,
and keep identical parameters; the preemption counter lives in the group's store."""
from __future__ import annotations

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ppo_fixtures import experiment, make_one_metre_dataset


def _worker(rank, world, init_file, root, run_dir, result_file):
    from agents.trainers.ddppo import DDPPOTrainer, DDPPOTrainerConfig
    from agents.trainers.distributed import init_distributed, shutdown_distributed

    torch.set_num_threads(1)
    info = init_distributed("cpu", init_method=f"file://{init_file}", rank=rank, world_size=world)
    t = DDPPOTrainerConfig(total_steps=2 * world * 2 * 16, num_envs=2, num_steps=16, asynchronous=False,
                           num_minibatches=2, checkpoint_every=100, log_every=100, lr=1e-2)
    cfg = experiment(root, run_dir, t)
    torch.manual_seed(100 + rank)  # the trainer re-seeds; rank 0's weights are broadcast anyway
    trainer = DDPPOTrainer(cfg, device="cpu", dist_info=info, progress=False)
    start = torch.cat([p.detach().flatten().clone() for p in trainer.ac.parameters()])
    trainer.train()
    flat = torch.cat([p.detach().flatten() for p in trainer.ac.parameters()])
    episodes = torch.tensor([float(len(trainer.recent)), float(trainer.storage.rewards.sum())])
    trainer.close()
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    stats = [torch.zeros_like(episodes) for _ in range(world)]
    dist.all_gather(stats, episodes)
    if rank == 0:
        torch.save({"params": torch.stack(gathered), "start": start, "stats": torch.stack(stats),
                    "env_steps": trainer.env_steps}, result_file)
    shutdown_distributed()


def test_ddppo_two_gloo_processes_keep_parameters_identical(tmp_path):
    root = make_one_metre_dataset(tmp_path / "data")
    result = tmp_path / "result.pt"
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), root, tmp_path / "run", str(result)), nprocs=2, join=True)
    r = torch.load(result, weights_only=True)
    assert torch.equal(r["params"][0], r["params"][1])  # identical after 2 updates x 4 minibatch steps
    assert not torch.equal(r["params"][0], r["start"])  # and training changed them
    assert not torch.equal(r["stats"][0], r["stats"][1])  # the ranks saw different experience
    assert r["env_steps"] == 2 * 2 * 2 * 16  # steps counted over both ranks
    assert (tmp_path / "run" / "checkpoints" / "latest.json").is_file()
