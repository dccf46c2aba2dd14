"""Pretraining runs on a tiny rendered corpus: exact resume, distillation, CLI, 2-process gloo."""
from __future__ import annotations

import json

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from agents.vlp.pretrain_config import LossConfig, OptimConfig, PretrainConfig, PretrainDataConfig
from agents.vlp.trainer import Pretrainer, lr_at
from vlnsim.corpus import CorpusConfig, build_corpus

from vlp_fixtures import tiny_config


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("vlpcorpus") / "c"
    build_corpus(out, CorpusConfig(houses=3, views_per_house=6, size=32, seed=2, val_fraction=0.34, test_fraction=0.0),
                 progress=False)
    return out


def make_cfg(corpus, run_dir, **loss) -> PretrainConfig:
    return PretrainConfig(run_dir=str(run_dir), seed=3, device="cpu", log_every=1, eval_every=2, ckpt_every=2,
                          data=PretrainDataConfig(corpus=str(corpus), val_images=4, feature_cache=None),
                          model=tiny_config(), loss=LossConfig(**loss),
                          optim=OptimConfig(batch_size=4, max_steps=4, warmup_steps=1, lr=1e-3))


def make_cfg_k(corpus, run_dir, k):
    cfg = make_cfg(corpus, run_dir)
    cfg.loss.itc_captions = k
    return cfg


def _params(t: Pretrainer) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in t.model.parameters()])


def test_resume_continues_exactly(corpus, tmp_path):
    a = Pretrainer(make_cfg(corpus, tmp_path / "a"), progress=False)
    ra = a.train()
    a.close()
    b = Pretrainer(make_cfg(corpus, tmp_path / "b"), progress=False)
    b.train(max_steps=2)
    b.close()
    b2 = Pretrainer(make_cfg(corpus, tmp_path / "b"), progress=False)
    rb = b2.train(resume=True)
    b2.close()
    assert ra["global_step"] == rb["global_step"] == 4
    assert torch.equal(_params(a), _params(b2))
    for k in ("itc", "itm", "mlm", "mrc"):
        assert ra["history"][-1][k] == rb["history"][-1][k]
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert "r1_t2i" in metrics["history"][-1] and metrics["pairs_per_s"] > 0
    assert (tmp_path / "a" / "final" / "vision" / "model.safetensors").is_file()
    assert list((tmp_path / "a" / "tb").glob("events.*"))


def test_momentum_and_teacher_distillation_run(corpus, tmp_path):
    m = Pretrainer(make_cfg(corpus, tmp_path / "m", distill="momentum", mrc_visible=0.5, itm_hard_warmup=3), progress=False)
    before = [p.detach().clone() for p in m.momentum.parameters()]
    s = m.train_step()
    assert all(torch.isfinite(torch.tensor(v)) for v in s.values())
    moved = [not torch.equal(a, b) for a, b in zip(before, m.momentum.parameters())]
    assert any(moved)  # the EMA follows the model
    m.train(max_steps=1)
    m.close()
    t = Pretrainer(make_cfg(corpus, tmp_path / "t", distill="teacher", teacher=str(tmp_path / "m" / "final")), progress=False)
    s = t.train_step()
    assert all(torch.isfinite(torch.tensor(v)) for v in s.values()) and t.teacher is not None


def test_lr_schedule_warms_up_then_decays():
    cfg = OptimConfig(lr=1.0, warmup_steps=10, max_steps=110, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1) and lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(60, cfg) == pytest.approx(0.55) and lr_at(110, cfg) == pytest.approx(0.1)


def test_pretrain_command_and_config_errors(corpus, tmp_path, capsys):
    from vlnsim.cli import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"run_dir: {tmp_path / 'run'}\ndata: {{corpus: {corpus}, val_images: 4, feature_cache: null}}\n"
                   "model: {text: null, embed_dim: 16, fusion_hidden: 32, fusion_layers: 1, fusion_heads: 2,\n"
                   "  vision_config: {image_size: 32, patch_size: 8, hidden_size: 32, num_hidden_layers: 1,\n"
                   "                  num_attention_heads: 2, intermediate_size: 64}}\n"
                   "optim: {batch_size: 4, max_steps: 2, warmup_steps: 1}\n")
    assert main(["pretrain", "--config", str(cfg), "--no-progress"]) == 0
    assert "steps: 2" in capsys.readouterr().out
    assert main(["pretrain", "--config", str(cfg), "loss.distill=bogus"]) == 2
    assert "loss.distill='bogus'" in capsys.readouterr().err
    assert main(["pretrain", "--config", str(cfg), f"data.corpus={tmp_path / 'nowhere'}"]) == 2
    assert "make-corpus" in capsys.readouterr().err


def _ddp_worker(rank, world, init_file, result_file, corpus, run_dir):
    from agents.trainers.distributed import init_distributed, shutdown_distributed
    from agents.vlp import objectives as obj

    torch.set_num_threads(1)
    info = init_distributed("cpu", init_method=f"file://{init_file}", rank=rank, world_size=world)
    # all_gather keeps the gradient: each rank's part receives the sum of every rank's gradient
    x = torch.full((2, 3), float(rank + 1), requires_grad=True)
    y = obj.gather_with_grad(x)
    (y * torch.arange(12.0).view(4, 3)).sum().backward()
    grad_ok = y.shape == (4, 3) and torch.equal(x.grad, 2 * torch.arange(12.0).view(4, 3)[2 * rank:2 * rank + 2])
    t = Pretrainer(make_cfg_k(corpus, run_dir, 3), dist_info=info, progress=False)  # 3 captions per image in ITC
    start = _params(t).clone()
    t.train(max_steps=2)
    flat = _params(t)
    out = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(out, flat)
    if rank == 0:
        torch.save({"params": torch.stack(out), "start": start, "grad_ok": torch.tensor(grad_ok)}, result_file)
    t.close()
    shutdown_distributed()


def test_two_process_gloo_keeps_ranks_identical(corpus, tmp_path):
    result = tmp_path / "r.pt"
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "init"), str(result), str(corpus), str(tmp_path / "run")),
             nprocs=2, join=True)
    r = torch.load(result, weights_only=True)
    assert bool(r["grad_ok"])
    assert torch.equal(r["params"][0], r["params"][1])
    assert not torch.equal(r["params"][0], r["start"])


def test_shipped_configs_load():
    from agents.vlp.pretrain_config import load_pretrain_config

    cpu = load_pretrain_config("configs/vlp_cpu.yaml")
    gpu = load_pretrain_config("configs/vlp_gpu.yaml", ["model.vision=/models/clip"])
    assert cpu.model.vision_config["image_size"] == 64 and not cpu.optim.text_trainable
    assert gpu.model.vision_config["hidden_size"] == 768 and gpu.model.vision == "/models/clip"
    assert gpu.loss.distill == "momentum" and gpu.device == "cuda"
