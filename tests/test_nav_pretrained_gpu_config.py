"""The GPU config of the pretrained navigation stack (configs/il_cma_pretrained_gpu.yaml), smoke-run on the CPU.

Only the sizes change (tiny frames, towers from a tiny `vlnsim pretrain`-layout directory
instead of ViT-B/16 and MiniLM, no PointNav run); everything else is the config's own:
frozen pretrained vision and text towers, the feature cache with its disk store, DAgger.
"""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def vlp_dir(tmp_path_factory, tiny_dataset):
    from agents.vlp import VLPConfig
    from agents.vlp.model import VLPModel
    from vlnsim.episodes import load_split

    ds = load_split(tiny_dataset.root, tiny_dataset.name, "train")
    cfg = VLPConfig(vision=None, text=None, embed_dim=16, fusion_hidden=32, fusion_layers=1, fusion_heads=2,
                    vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32, "num_hidden_layers": 2,
                                   "num_attention_heads": 2, "intermediate_size": 64},
                    text_config={"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                                 "intermediate_size": 64})
    d = tmp_path_factory.mktemp("vlp") / "final"
    VLPModel.build(cfg, texts=[" ".join(ds.word_list[2:])], work_dir=tmp_path_factory.mktemp("w"), seed=1).save_pretrained(d)
    return d


def test_gpu_config_keeps_its_gpu_scale_settings():
    from agents.config import load_experiment_config

    cfg = load_experiment_config("il_cma_pretrained_gpu", [])
    assert (cfg.env["width"], cfg.env["height"]) == (224, 224) and cfg.device == "cuda"
    p = cfg.policy
    assert p.instruction.type == "pretrained" and p.instruction.model == "minilm" and not p.instruction.trainable
    assert p.vision.clip and not p.vision.trainable and p.depth.pretrained and not p.depth.trainable
    assert p.vision.patch_grid == 7


def test_gpu_config_smoke_runs_on_the_cpu_with_tiny_sizes(tmp_path, capsys, tiny_overrides, vlp_dir):
    from vlnsim.cli import main

    run = tmp_path / "run"
    over = [*tiny_overrides, f"policy.vision.clip={vlp_dir}", f"policy.instruction.model={vlp_dir}",
            "policy.instruction.projection_dim=16", "policy.vision.patch_grid=2", "policy.depth.pretrained=null", "trainer.cache.enabled=true",
            f"trainer.cache.disk_dir={tmp_path / 'cache'}", "trainer.episodes_per_iteration=3", "trainer.num_envs=2",
            "env.semantic=true", "policy.semantic.enabled=true", "policy.semantic.grid=2"]
    rc = main(["train", "--config", "il_cma_pretrained_gpu", "--run-dir", str(run), "--device", "cpu",
               "--max-steps", "2", "--no-progress", *over])
    assert rc == 0, capsys.readouterr().err
    latest = json.loads((run / "checkpoints" / "latest.json").read_text())
    assert latest
    assert any((tmp_path / "cache").rglob("shard_*.safetensors"))  # frozen features went to the disk store
    for ablate in ("none", "vision"):
        out = tmp_path / f"eval_{ablate}"
        rc = main(["eval", "--ckpt", str(run), "--split", "val_unseen", "--episodes", "2", "--ablate", ablate,
                   "--out", str(out), "--no-progress", "--device", "cpu", "--data-root", str(tiny_overrides[0].split("=", 1)[1])])
        assert rc == 0, capsys.readouterr().err
        assert json.loads((out / "metrics.json").read_text())["episodes"] == 2
