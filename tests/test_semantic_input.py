"""The semantic input of the navigation policies (ladder rung 6): object categories per pixel."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vlnsim.errors import ConfigError


def _env(data_root, tiny_dataset, **kw):
    import envs

    cfg = dict(data_root=str(data_root), dataset=tiny_dataset.name, split="train", width=32, height=24, semantic=True)
    cfg.update(kw)
    return envs.make_env(cfg)


def test_category_list_covers_every_procedural_category():
    import vlnsim
    from envs.sensors import SEMANTIC_CATEGORIES

    assert SEMANTIC_CATEGORIES[:2] == ("<nothing>", "<other>") and len(set(SEMANTIC_CATEGORIES)) == len(SEMANTIC_CATEGORIES)
    assert len(SEMANTIC_CATEGORIES) < 256  # uint8 observation
    for seed in range(3):
        cats = {o.category for o in vlnsim.generate_house(seed=seed).objects}
        assert cats <= set(SEMANTIC_CATEGORIES[2:]), cats - set(SEMANTIC_CATEGORIES)


def test_semantic_category_matches_a_per_pixel_lookup_on_a_rendered_frame(data_root, tiny_dataset):
    from envs.sensors import SEMANTIC_CATEGORIES

    env = _env(data_root, tiny_dataset)
    try:
        obs, _ = env.reset(seed=0)
        for _ in range(3):
            obs, *_ = env.step(3)
        assert env.observation_space["semantic_category"].contains(obs["semantic_category"])
        scene = env.unwrapped.sim.scene
        by_id = {o.id: o.category for o in scene.objects}
        ids, got = obs["semantic"], obs["semantic_category"]
        assert got.shape == ids.shape == (24, 32) and got.dtype == np.uint8
        for y in range(ids.shape[0]):
            for x in range(ids.shape[1]):
                i = int(ids[y, x])
                want = 0 if i < 0 else SEMANTIC_CATEGORIES.index(by_id[i]) if by_id.get(i) in SEMANTIC_CATEGORIES else 1
                assert got[y, x] == want, (y, x, i)
        assert len(np.unique(got)) >= 2  # a real view: several categories
    finally:
        env.close()


def test_category_histogram_matches_a_brute_force_count():
    from agents.encoders.semantic import category_histogram

    g = np.random.default_rng(0)
    cats = g.integers(0, 7, (2, 10, 14))
    K, G = 7, 3
    got = category_histogram(torch.from_numpy(cats).to(torch.uint8), K, G).numpy()
    ref = np.zeros((2, G * G, K))
    n = np.zeros(G * G)
    for y in range(10):
        for x in range(14):
            c = (y * G // 10) * G + (x * G // 14)
            n[c] += 1
            for b in range(2):
                ref[b, c, cats[b, y, x]] += 1
    np.testing.assert_allclose(got, ref / n[None, :, None], rtol=1e-6)
    assert np.allclose(got.sum(-1), 1.0)


@pytest.mark.parametrize("kind", ["cma", "seq2seq"])
def test_policy_reads_semantic_input_stepwise_like_the_sequence(small_policy_config, kind):
    from agents.policies import build_policy

    c = small_policy_config(kind)
    c.semantic.enabled, c.semantic.grid = True, 2
    torch.manual_seed(0)
    policy = build_policy(c, 20, None)
    g = np.random.default_rng(1)
    T, B = 4, 2
    ins = np.zeros((B, 6), np.int64)
    ins[:, :4] = g.integers(2, 20, (B, 4))
    cats = torch.from_numpy(g.integers(0, 57, (T, B, 32, 32)).astype(np.uint8))
    batch = {"depth": torch.from_numpy(g.uniform(0, 5, (T, B, 32, 32, 1)).astype(np.float32)),
             "semantic_category": cats, "instruction": torch.from_numpy(ins),
             "instruction_mask": torch.from_numpy((ins != 0).astype(np.int8))}
    prev, masks = torch.from_numpy(g.integers(0, 4, (T, B))), torch.ones(T, B)
    masks[0] = 0
    out = policy.forward_sequence(batch, policy.initial_hidden(B), prev, masks)
    out.logits.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in policy.semantic_encoder.parameters())
    policy.eval()
    with torch.no_grad():
        ref = policy.forward_sequence(batch, policy.initial_hidden(B), prev, masks).logits
        # Cached histograms (what the DAgger buffer stores) give the same logits as the category maps.
        hist = policy.semantic_encoder.histogram(cats.flatten(0, 1)).view(T, B, 4, 57).half()
        cached = dict(batch, semantic_features=hist.float())
        del cached["semantic_category"]
        torch.testing.assert_close(policy.forward_sequence(cached, policy.initial_hidden(B), prev, masks).logits, ref)
        hidden = policy.initial_hidden(B)
        for t in range(T):
            obs = {"depth": batch["depth"][t], "semantic_category": cats[t], "instruction": batch["instruction"],
                   "instruction_mask": batch["instruction_mask"]}
            _, hidden, extras = policy.act(obs, hidden, prev[t], masks[t])
            torch.testing.assert_close(extras["logits"], ref[t], atol=1e-5, rtol=1e-4)
        # Changing what is seen changes the action logits: the input is used.
        other = dict(batch, semantic_category=torch.zeros_like(cats))
        assert not torch.allclose(policy.forward_sequence(other, policy.initial_hidden(B), prev, masks).logits, ref)


def test_vision_ablation_blanks_the_semantic_input(data_root, tiny_dataset):
    from agents.encoders.semantic import category_histogram
    from agents.rollout import ablate_observation

    env = _env(data_root, tiny_dataset)
    try:
        obs, _ = env.reset(seed=0)
    finally:
        env.close()
    blank = ablate_observation(obs, "vision")
    assert blank["semantic_category"].shape == obs["semantic_category"].shape and not blank["semantic_category"].any()
    assert not blank["semantic"].any() and obs["semantic_category"].any()
    hist = category_histogram(torch.from_numpy(blank["semantic_category"])[None], 57, 4)
    assert torch.all(hist[..., 0] == 1) and torch.all(hist[..., 1:] == 0)  # all "nothing"
    kept = ablate_observation(obs, "instruction")
    assert np.array_equal(kept["semantic_category"], obs["semantic_category"])


def test_bad_semantic_config_values_name_the_field(tmp_path, tiny_config):
    from agents.config import load_experiment_config
    from agents.trainers.il import ILTrainer

    for field in ("grid", "embedding_dim", "output_dim"):
        with pytest.raises(ConfigError, match=rf"policy\.semantic\.{field}"):
            load_experiment_config(None, [f"policy.semantic.{field}=0"])
    with pytest.raises(ConfigError, match=r"env\.semantic"):
        ILTrainer(tiny_config(tmp_path / "r", "policy.semantic.enabled=true"), progress=False)


SEM = ("env.semantic=true", "policy.semantic.enabled=true", "policy.semantic.grid=2", "trainer.iterations=1",
       "trainer.episodes_per_iteration=3", "trainer.epochs_per_iteration=1")


def test_dagger_with_semantic_input_cache_and_checkpoint_round_trip(data_root, tmp_path, tiny_config):
    import envs
    from agents.evaluation import PolicyAgent, evaluate_episodes, load_policy
    from agents.trainers.il import ILTrainer

    plain = ILTrainer(tiny_config(tmp_path / "p", *SEM), progress=False)
    cached = ILTrainer(tiny_config(tmp_path / "c", *SEM, "trainer.cache.enabled=true"), progress=False)
    try:
        assert cached.cache is not None
        ids = plain.train_ids[:2]
        ref = plain._collector().collect(ids, 1.0, seed=(0, 0, 0))
        got = cached._collector().collect(ids, 1.0, seed=(0, 0, 0))
        for a, b in zip(ref, got):  # env-mapped categories == collector-rendered and mapped categories
            assert a.frames["semantic_features"].shape[1:] == (4, 57)
            np.testing.assert_array_equal(a.frames["semantic_features"], b.frames["semantic_features"])
        cached.train()
        policy, meta = load_policy(tmp_path / "c" / "checkpoints", torch.device("cpu"))
        assert meta["semantic_categories"][0] == "<nothing>"
        env = envs.make_env(cached.env_config.replace(split="val_unseen", expert_action_sensor=False, progress_sensor=False))
        try:
            eids = [e.episode_id for e in env.unwrapped.episodes.episodes][:2]
            a = evaluate_episodes(env, PolicyAgent(cached.policy.eval(), torch.device("cpu")), eids, progress=False)
            b = evaluate_episodes(env, PolicyAgent(policy, torch.device("cpu")), eids, progress=False)
            assert [r["actions"] for r in a] == [r["actions"] for r in b]
        finally:
            env.close()
    finally:
        plain.close()
        cached.close()
