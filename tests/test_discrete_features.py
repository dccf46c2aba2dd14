"""extract-features: one (36, D) array per viewpoint, equal to the encoder applied to the rendered panorama."""
from __future__ import annotations

import gymnasium
import h5py
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401
from agents.encoders.clip import CLIPEncoder, build_tiny_clip
from vlnsim.cli import main as cli_main
from vlnsim.discrete.connectivity import connectivity_path, load_connectivity
from vlnsim.discrete.generate import generate_discrete_dataset
from vlnsim.render.renderer import Renderer
from vlnsim.render.sensors import SensorSpec
from vlnsim.scene.io import load_scene


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("data")
    generate_discrete_dataset(str(root), "disc", num_houses=1, paths_per_house=3, progress=False)
    clip = build_tiny_clip(root / "clip", vocab_size=64, image_size=32, patch_size=16)
    out = root / "feats.h5"
    assert cli_main(["extract-features", "--encoder", str(clip), "--out", str(out), "--data-root", str(root),
                     "--dataset", "disc", "--quiet"]) == 0
    return root, clip, out


def test_one_entry_per_viewpoint(setup):
    root, clip, out = setup
    g = load_connectivity(connectivity_path(root, "house_00000"))
    with h5py.File(out, "r") as f:
        assert sorted(f.keys()) == sorted(f"house_00000_{v}" for v in g.ids)
        assert all(f[k].shape == (36, 32) and f[k].dtype == np.float32 for k in f)


def test_features_equal_encoder_of_views(setup):
    """Reference: each view rendered with a plainly rotated agent (yaw = -heading, camera pitched by a
    sensor orientation) and encoded one at a time."""
    root, clip, out = setup
    g = load_connectivity(connectivity_path(root, "house_00000"))
    renderer = Renderer(load_scene(root / "scene_datasets" / "procgen" / "house_00000" / "house_00000.glb"))
    enc = CLIPEncoder(str(clip))
    vid = g.ids[0]
    with h5py.File(out, "r") as f:
        feats = np.asarray(f[f"house_00000_{vid}"])
    for k in (0, 5, 13, 30):
        heading, elevation = np.radians((k % 12) * 30.0), np.radians((k // 12 - 1) * 30.0)
        spec = SensorSpec("v", width=32, height=32, hfov=60.0, position=(0.0, 1.25, 0.0), orientation=(elevation, 0.0, 0.0))
        yaw = -heading
        rot = [0.0, np.sin(yaw / 2), 0.0, np.cos(yaw / 2)]
        img = renderer.render([spec], g.position(vid), rot)["v"]
        with torch.no_grad():
            ref = enc.image_features(torch.from_numpy(img[None])).numpy()[0]
        assert np.allclose(feats[k], ref, atol=1e-4), k


def test_env_reads_features(setup):
    root, clip, out = setup
    env = gymnasium.make("vlnsim/R2R-v0", data_root=str(root), dataset="disc", split="train",
                         observation="features", features=str(out)).unwrapped
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(options={"episode_index": 0})
    with h5py.File(out, "r") as f:
        assert np.array_equal(obs["features"], f[f"house_00000_{env.viewpoint}"][()])
    env.close()


def test_pretrained_vlp_directory_is_an_encoder(setup, tmp_path):
    """A `vlnsim pretrain` output works as --encoder: features point along the VLP model's own image embedding."""
    from agents.vlp import VLPConfig, VLPModel

    root, _, _ = setup
    torch.manual_seed(0)
    cfg = VLPConfig(vision=None, text=None, embed_dim=16, fusion_hidden=32, fusion_layers=1, fusion_heads=2,
                    vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32, "num_hidden_layers": 1,
                                   "num_attention_heads": 2, "intermediate_size": 64},
                    text_config={"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                                 "intermediate_size": 64})
    model = VLPModel.build(cfg, texts=["a red chair", "a blue bed"], work_dir=tmp_path).eval()
    vlp_dir = model.save_pretrained(tmp_path / "vlp")
    out = tmp_path / "vlp_feats.h5"
    assert cli_main(["extract-features", "--encoder", str(vlp_dir), "--out", str(out), "--data-root", str(root),
                     "--scans", "house_00000", "--quiet"]) == 0
    g = load_connectivity(connectivity_path(root, "house_00000"))
    renderer = Renderer(load_scene(root / "scene_datasets" / "procgen" / "house_00000" / "house_00000.glb"))
    vid = g.ids[1]
    spec = SensorSpec("v", width=32, height=32, hfov=60.0, position=(0.0, 1.25, 0.0), orientation=(0.0, 0.0, 0.0))
    img = renderer.render([spec], g.position(vid), [0.0, 0.0, 0.0, 1.0])["v"]  # view 12: heading 0, level
    with torch.no_grad():
        ref = model.encode_image(torch.from_numpy(img[None])).embeds[0].numpy()
    with h5py.File(out, "r") as f:
        assert f.attrs["encoder_type"] == "vlp" and f[f"house_00000_{vid}"].shape == (36, 16)
        got = f[f"house_00000_{vid}"][12]
    assert np.allclose(got / np.linalg.norm(got), ref, atol=1e-5)


def test_unknown_encoder_directory_is_refused(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    assert cli_main(["extract-features", "--encoder", str(tmp_path), "--out", str(tmp_path / "f.h5"),
                     "--data-root", str(tmp_path)]) == 2
