"""CUDA paths: the Warp renderer on the GPU, AMP (bf16) DAgger training, checkpoints across devices.

Marked ``cuda`` and skipped without a CUDA device (``bench/gpu_check.sh`` runs them on a
GPU machine: ``pytest -m cuda``). ``VLNSIM_CUDA_TESTS_ON_CPU=1`` runs the same bodies on
the CPU instead (AMP is then off), to check the tests themselves on a machine without a GPU.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.cuda


@pytest.fixture(scope="module")
def device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if os.environ.get("VLNSIM_CUDA_TESTS_ON_CPU") == "1":
        return "cpu"
    pytest.skip("no CUDA device (torch.cuda.is_available() is False)")


@pytest.fixture(scope="module")
def warp_device(device) -> str:
    try:
        import warp as wp
    except ImportError:
        pytest.skip("NVIDIA Warp is not installed (pip install 'vlnsim[gpu]')")
    wp.init()
    if device == "cuda":
        if not wp.is_cuda_available():
            pytest.skip("Warp sees no CUDA device (driver too old for this warp-lang build?)")
        return "cuda:0"
    return "cpu"


def test_warp_renderer_on_the_gpu_matches_embree(warp_device):
    from vlnsim.geometry import quat_from_yaw
    from vlnsim.render.renderer import Renderer
    from vlnsim.render.sensors import SensorSpec
    from vlnsim.scene.house import generate_house

    scene = generate_house(3)
    sensors = [SensorSpec("rgb", "rgb", 96, 64, 90.0), SensorSpec("d", "depth", 96, 64, 90.0, max_depth=100.0),
               SensorSpec("s", "semantic", 96, 64, 90.0)]
    gpu = Renderer(scene, backend=f"warp:{warp_device}")
    cpu = Renderer(scene)
    lo, hi = scene.bounds
    rng = np.random.default_rng(0)
    for _ in range(6):
        room = scene.rooms[int(rng.integers(len(scene.rooms)))] if scene.rooms else None
        xz = np.asarray(room.polygon, float).mean(0) if room is not None else (lo[[0, 2]] + hi[[0, 2]]) / 2
        pose = ((xz[0], lo[1], xz[1]), quat_from_yaw(rng.uniform(-math.pi, math.pi)))
        a, b = gpu.render(sensors, *pose), cpu.render(sensors, *pose)
        assert np.mean(np.abs(a["d"] - b["d"]) < 1e-3) > 0.995
        assert np.mean(a["s"] == b["s"]) > 0.99
        assert np.mean(np.abs(a["rgb"].astype(int) - b["rgb"]).max(-1) <= 2) > 0.99


def _flat(policy):
    return torch.cat([p.detach().float().flatten().cpu() for p in policy.parameters() if p.requires_grad])


def test_dagger_with_amp_on_the_device_trains_checkpoints_and_resumes(device, tiny_config, tmp_path):
    """Two DAgger rounds (the second samples the policy's actions on the device), bf16 autocast."""
    from agents.evaluation import load_policy
    from agents.trainers.buffer import collate
    from agents.trainers.il import ILTrainer

    extra = (f"device={device}", "trainer.amp=true", "trainer.cache.enabled=true")
    trainer = ILTrainer(tiny_config(tmp_path / "run", *extra), progress=False)
    try:
        assert trainer.device.type == device and trainer.learner.amp == (device == "cuda")
        assert next(trainer.policy.parameters()).device.type == device
        hist = trainer.train(stop_after=1)["history"]
        first = hist[0]
        assert all(math.isfinite(v) for v in first["losses"].values())
        assert first["last_losses"]["total"] < first["first_losses"]["total"]
        batch = collate(trainer.buffer.episodes[:2], trainer.device, trainer.inflection_coef)
        on_device = trainer.learner.loss_on(batch)
        weights = _flat(trainer.policy)
    finally:
        trainer.close()
    # The checkpoint loads on the CPU (evaluation on a machine without the GPU) ...
    policy, meta = load_policy(str(tmp_path / "run"), torch.device("cpu"))
    assert torch.equal(_flat(policy), weights)
    # ... and resumes on the device: the optimizer state follows the parameters, round 1
    # samples the policy's actions with a generator on the device.
    resumed = ILTrainer(tiny_config(tmp_path / "run", *extra), progress=False)
    try:
        hist = resumed.train(resume=True)["history"]
        assert [h["iteration"] for h in hist] == [0, 1] and hist[1]["beta"] == 0.5
        assert all(math.isfinite(v) for v in hist[1]["losses"].values())
        state = resumed.optimizer.state[resumed.learner.params[0]]
        assert state["exp_avg"].device.type == device
        again = resumed.learner.loss_on(collate(resumed.buffer.episodes[:2], resumed.device, resumed.inflection_coef))
        assert again["action"] != on_device["action"]  # trained further
    finally:
        resumed.close()


def test_amp_step_matches_float32_step(device, small_policy_config):
    """One bf16-autocast training step lands close to the float32 step (same batch, same init)."""
    if device != "cuda":
        pytest.skip("autocast is CUDA-only in the trainers")
    from agents.config import TrainerConfig
    from agents.policies import build_policy
    from agents.trainers.learner import Learner

    torch.manual_seed(0)
    T, B, V = 6, 3, 30
    batch = {
        "depth": torch.rand(T, B, 32, 32, 1), "instruction": torch.randint(1, V, (B, 7)),
        "instruction_mask": torch.ones(B, 7, dtype=torch.int8), "prev_actions": torch.randint(0, 4, (T, B)),
        "masks": torch.ones(T, B), "labels": torch.randint(0, 4, (T, B)), "valid": torch.ones(T, B),
        "weights": torch.ones(T, B), "progress": torch.rand(T, B),
    }
    batch["masks"][0] = 0
    cfg = small_policy_config("seq2seq")
    cfg.vision.clip = None
    results = []
    for amp in (False, True):
        torch.manual_seed(1)
        policy = build_policy(cfg, V, None).to("cuda")
        learner = Learner(policy, TrainerConfig(amp=amp), torch.device("cuda"))
        res = learner.train_step({k: v.to("cuda") for k, v in batch.items()})
        results.append(res)
    assert results[0]["total"] == pytest.approx(results[1]["total"], rel=2e-2)


def test_resume_on_the_device_matches_the_uninterrupted_run(device, tiny_config, tmp_path):
    """Within 1e-3 everywhere; bitwise on the CPU. Writes the measured gap to $VLNSIM_RESUME_REPORT if set."""
    import json

    from agents.trainers.il import ILTrainer

    extra = (f"device={device}", "trainer.amp=true", "trainer.cache.enabled=true")
    straight = ILTrainer(tiny_config(tmp_path / "a", *extra), progress=False)
    hist_a = straight.train()["history"]
    weights_a = _flat(straight.policy)
    straight.close()
    first = ILTrainer(tiny_config(tmp_path / "b", *extra), progress=False)
    first.train(stop_after=1)
    first.close()
    resumed = ILTrainer(tiny_config(tmp_path / "b", *extra), progress=False)
    hist_b = resumed.train(resume=True)["history"]
    weights_b = _flat(resumed.policy)
    resumed.close()
    gap = max(abs(hist_a[1][k][n] - hist_b[1][k][n]) for k in ("first_losses", "last_losses") for n in hist_a[1][k])
    report = {"device": device, "bitwise_losses": gap == 0.0, "bitwise_weights": bool(torch.equal(weights_a, weights_b)),
              "max_loss_gap": gap, "max_weight_gap": float((weights_a - weights_b).abs().max())}
    if os.environ.get("VLNSIM_RESUME_REPORT"):
        with open(os.environ["VLNSIM_RESUME_REPORT"], "w") as fh:
            json.dump(report, fh)
    assert gap < 1e-3, report
    if device == "cpu":
        assert report["bitwise_losses"] and report["bitwise_weights"], report
