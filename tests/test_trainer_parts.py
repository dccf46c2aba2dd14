"""Trainer building blocks: checkpoints, RNG state, buffer shards, DAgger schedule, config."""
import json

import numpy as np
import pytest
import torch

from agents.config import load_experiment_config
from agents.feature_cache import FeatureCache, yaw_of
from agents.trainers.buffer import EpisodeRecord, TrajectoryBuffer, collate, load_shard, save_shard
from agents.trainers.checkpoint import (load_checkpoint, optimizer_from_flat, resolve_checkpoint, rng_state,
                                        save_checkpoint, set_rng_state)
from agents.trainers.dagger import dagger_beta, episode_schedule, inflection_coefficient, inflection_weights
from vlnsim.errors import CheckpointError, ConfigError


def _model_and_opt(seed=0):
    torch.manual_seed(seed)
    m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    return m, torch.optim.AdamW(m.parameters(), lr=1e-2)


def _step(m, opt, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 4, generator=g)
    loss = m(x).square().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())


def test_checkpoint_restores_model_optimizer_and_continues_identically(tmp_path):
    m, opt = _model_and_opt()
    for s in range(3):
        _step(m, opt, s)
    save_checkpoint(tmp_path / "ck", 2, m, opt, {"note": "x"})
    expected = [_step(m, opt, s) for s in range(3, 6)]
    m2, opt2 = _model_and_opt(seed=99)  # different init: everything must come from the checkpoint
    weights, tensors, meta = load_checkpoint(tmp_path / "ck")
    m2.load_state_dict(weights)
    optimizer_from_flat(opt2, tensors, meta["optimizer"])
    assert [_step(m2, opt2, s) for s in range(3, 6)] == expected
    assert meta["note"] == "x" and meta["iteration"] == 2
    # Only the published checkpoint and the pointer exist (no temporary directories).
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["ckpt_0002", "latest.json"]
    assert json.loads((tmp_path / "ck" / "latest.json").read_text())["checkpoint"] == "ckpt_0002"


def test_checkpoint_files_are_safetensors_and_json_only(tmp_path):
    m, opt = _model_and_opt()
    _step(m, opt, 0)
    d = save_checkpoint(tmp_path, 0, m, opt, {})
    assert sorted(p.name for p in d.iterdir()) == ["model.safetensors", "trainer_state.json", "trainer_state.safetensors"]
    files = json.loads((d / "trainer_state.json").read_text())["files"]  # size + SHA-256 of each tensor file
    import hashlib
    assert files["model.safetensors"]["sha256"] == hashlib.sha256((d / "model.safetensors").read_bytes()).hexdigest()
    assert resolve_checkpoint(tmp_path) == d == resolve_checkpoint(d / "model.safetensors") == resolve_checkpoint(d)
    with pytest.raises(CheckpointError, match="not found"):
        resolve_checkpoint(tmp_path / "nothing")


def test_rng_states_round_trip():
    import random

    t, meta = rng_state()
    meta = json.loads(json.dumps(meta))  # JSON-able
    a = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(t, meta)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def _record(eid, n, seed):
    g = np.random.default_rng(seed)
    labels = g.integers(0, 4, n)
    return EpisodeRecord(eid, g.integers(1, 20, 5), {"depth": g.random((n, 4, 4, 1)).astype(np.float16),
                                                     "rgb_pooled": g.random((n, 3)).astype(np.float16)},
                         np.concatenate([[0], labels[:-1]]), labels, labels, g.random(n).astype(np.float32))


def test_buffer_shards_round_trip_and_eviction_keeps_newest_within_bound(tmp_path):
    recs = [_record(f"e{i}", 3 + i, i) for i in range(4)]
    save_shard(tmp_path / "s.safetensors", recs)
    back = load_shard(tmp_path / "s.safetensors")
    assert [r.episode_id for r in back] == ["e0", "e1", "e2", "e3"]
    for a, b in zip(recs, back):
        assert np.array_equal(a.labels, b.labels) and np.array_equal(a.frames["depth"], b.frames["depth"])
        assert np.array_equal(a.instruction, b.instruction) and np.array_equal(a.progress, b.progress)
    buf = TrajectoryBuffer(tmp_path / "buf", max_steps=12)
    buf.add(0, recs[:2])  # 3 + 4 steps
    buf.add(1, recs[2:])  # 5 + 6 steps -> 18 > 12: drop e0 (15), e1 (11)
    assert [r.episode_id for r in buf.episodes] == ["e2", "e3"] and buf.num_steps == 11
    again = TrajectoryBuffer(tmp_path / "buf", max_steps=12)
    again.restore(json.loads(json.dumps(buf.state())))
    assert [r.episode_id for r in again.episodes] == ["e2", "e3"]


def test_collate_pads_time_major_and_weights_inflections():
    recs = [_record("a", 3, 0), _record("b", 5, 1)]
    recs[1].labels[:] = [1, 1, 2, 2, 0]
    b = collate(recs, torch.device("cpu"), inflection_coef=3.0)
    assert b["labels"].shape == (5, 2) and b["depth"].shape == (5, 2, 4, 4, 1)
    assert b["valid"][:, 0].tolist() == [1, 1, 1, 0, 0] and b["masks"][0].tolist() == [0, 0]
    assert b["weights"][:, 1].tolist() == [3.0, 1.0, 3.0, 1.0, 3.0]
    assert b["instruction"].shape == (2, 5)


def test_dagger_beta_inflection_and_schedule():
    assert [dagger_beta(0.75, i) for i in range(3)] == [1.0, 0.75, 0.5625]
    assert dagger_beta(0.0, 0) == 1.0 and dagger_beta(0.0, 2) == 0.0
    assert inflection_weights(np.array([1, 1, 2, 2, 2, 0]), 2.0).tolist() == [2, 1, 2, 1, 1, 2]
    # 10 steps with 5 inflections (t=0 counts; 1->2, 1->3, 3->0) -> coefficient 10 / 5.
    assert inflection_coefficient([np.array([1, 1, 1, 2, 2]), np.array([1, 1, 3, 3, 0])]) == pytest.approx(10 / 5)
    ids = [str(i) for i in range(10)]
    first_pass = episode_schedule(ids, 0, 0, 4) + episode_schedule(ids, 0, 1, 4) + episode_schedule(ids, 0, 2, 4)[:2]
    assert sorted(first_pass) == sorted(ids)  # each episode once per pass over the split
    assert episode_schedule(ids, 0, 1, 4) == episode_schedule(ids, 0, 1, 4)
    assert episode_schedule(ids, 1, 1, 4) != episode_schedule(ids, 0, 1, 4)


def test_experiment_config_errors_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"trainer\.dagger_p=1\.5"):
        load_experiment_config(None, ["trainer.dagger_p=1.5"])
    with pytest.raises(ConfigError, match=r"policy\.type.*'transformer'"):
        load_experiment_config(None, ["policy.type=transformer"])
    with pytest.raises(ConfigError, match=r"trainer\.lrr"):
        load_experiment_config(None, ["trainer.lrr=0.1"])
    with pytest.raises(ConfigError, match="none.yaml"):
        load_experiment_config(tmp_path / "none.yaml")
    cfg = load_experiment_config(None, ["trainer.iterations=2", "policy.hidden_size=64"])
    assert cfg.trainer.iterations == 2 and cfg.policy.hidden_size == 64


def test_feature_cache_keys_lru_and_disk(tmp_path):
    c = FeatureCache(max_items=2, disk_dir=str(tmp_path), namespace="ns", shard_size=2)
    q = [0.0, np.sin(np.pi / 8), 0.0, np.cos(np.pi / 8)]  # 45 degrees about +Y
    assert yaw_of(q) == pytest.approx(np.pi / 4)
    k = c.key("s", [1.0, 0.0, 2.0], q)
    assert k == c.key("s", np.array([1.0, 0.0, 2.0]), np.array(q))  # the same pose
    # Another pose in the same 1 cm bin is another key: a hit must return features of exactly
    # the pose asked for, whatever pose filled the bin first (exact resume).
    assert k != c.key("s", [1.004, 0.0, 1.996], q) and k.split("|")[:6] == c.key("s", [1.004, 0.0, 1.996], q).split("|")[:6]
    assert k != c.key("s", [1.02, 0.0, 2.0], q) and k != c.key("t", [1.0, 0.0, 2.0], q)
    for i in range(3):
        c.put(f"k{i}", {"x": np.full(3, i, np.float16)})
    assert len(c) == 2 and "k0" in c  # evicted from memory, still on disk
    assert c.get("k0")["x"].tolist() == [0, 0, 0] and c.get("nope") is None
    assert (c.hits, c.misses) == (1, 1)
    c.flush()
    fresh = FeatureCache(max_items=5, disk_dir=str(tmp_path), namespace="ns")
    assert fresh.get("k2")["x"].tolist() == [2, 2, 2]
    assert FeatureCache(max_items=5, disk_dir=str(tmp_path), namespace="other").get("k2") is None


def test_length_bucketed_batches_cover_every_episode_once_with_similar_lengths():
    from agents.trainers.il import length_bucketed_batches

    lengths = list(np.random.default_rng(0).integers(1, 100, 50))
    batches = length_bucketed_batches(lengths, 4, np.random.default_rng(1), pool=50)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(50)) and all(1 <= len(b) <= 4 for b in batches)
    # One pool holds everything: batches are consecutive runs of the length-sorted list.
    spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in batches)
    assert all(hi <= nxt_lo for (_, hi), (nxt_lo, _) in zip(spans, spans[1:]))
