"""Seq2Seq and CMA policies: shapes, gradients, step-by-step == teacher-forced sequence."""
import numpy as np
import pytest
import torch

from agents.config import PolicyConfig
from agents.encoders import build_tiny_clip
from agents.policies import build_policy

V, L, H, W = 40, 12, 32, 32


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return build_tiny_clip(tmp_path_factory.mktemp("clip"), vocab_size=V, image_size=32, patch_size=8)


def _cfg(kind, instruction="lstm"):
    c = PolicyConfig(type=kind, hidden_size=32, rgb_dim=16, depth_dim=16, attention_dim=16, prev_action_dim=8)
    c.depth.channels, c.depth.output_dim, c.depth.input_size = [8, 16], 16, 32
    c.instruction.type, c.instruction.embedding_dim, c.instruction.hidden_size = instruction, 16, 16
    return c


def _sequence(T=6, B=3, seed=0):
    g = np.random.default_rng(seed)
    ins = np.zeros((B, L), np.int64)
    for b in range(B):
        n = 4 + b
        ins[b, :n] = g.integers(1, V, n)
    return {
        "rgb": torch.from_numpy(g.integers(0, 256, (T, B, H, W, 3), dtype=np.uint8)),
        "depth": torch.from_numpy(g.uniform(0, 8, (T, B, H, W, 1)).astype(np.float32)),
        "instruction": torch.from_numpy(ins),
        "instruction_mask": torch.from_numpy((ins != 0).astype(np.int8)),
    }, torch.from_numpy(g.integers(0, 4, (T, B))), torch.ones(T, B)


@pytest.mark.parametrize("kind,instruction", [("cma", "lstm"), ("seq2seq", "lstm"), ("cma", "clip")])
def test_forward_backward_on_a_batch(clip_dir, kind, instruction):
    torch.manual_seed(0)
    policy = build_policy(_cfg(kind, instruction), V, clip_dir)
    batch, prev, masks = _sequence()
    masks[0] = 0
    out = policy.forward_sequence(batch, policy.initial_hidden(3), prev, masks)
    assert out.logits.shape == (6, 3, 4) and out.progress.shape == (6, 3)
    torch.testing.assert_close(out.log_probs.exp().sum(-1), torch.ones(6, 3))
    labels = torch.randint(0, 4, (6, 3))
    loss = torch.nn.functional.nll_loss(out.log_probs.reshape(-1, 4), labels.reshape(-1)) + out.progress.square().mean()
    loss.backward()
    trainable = [(n, p) for n, p in policy.named_parameters() if p.requires_grad]
    assert trainable and all(torch.isfinite(p.grad).all() for _, p in trainable if p.grad is not None)
    no_grad = [n for n, p in trainable if p.grad is None or p.grad.abs().sum() == 0]
    assert no_grad == [], f"parameters without gradient: {no_grad[:5]}"
    assert not any(p.requires_grad for p in policy.clip.model.vision_model.parameters())  # frozen tower


@pytest.mark.parametrize("kind", ["cma", "seq2seq"])
def test_stepwise_act_equals_teacher_forced_sequence(clip_dir, kind):
    torch.manual_seed(1)
    policy = build_policy(_cfg(kind), V, clip_dir).eval()
    batch, prev, masks = _sequence(T=5, B=2, seed=3)
    masks[0] = 0
    masks[3, 1] = 0  # a new episode starts in column 1 at t = 3
    with torch.no_grad():
        seq = policy.forward_sequence(batch, policy.initial_hidden(2), prev, masks)
        h = policy.initial_hidden(2)
        for t in range(5):
            obs = {k: (v[t] if k in ("rgb", "depth") else v) for k, v in batch.items()}
            _, h, ex = policy.act(obs, h, prev[t], masks[t])
            torch.testing.assert_close(ex["logits"], seq.logits[t], rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(ex["progress"], seq.progress[t], rtol=1e-5, atol=1e-5)
        # Column 1 restarted at t = 3: its outputs there equal a fresh episode's first step.
        obs3 = {k: (v[3] if k in ("rgb", "depth") else v) for k, v in batch.items()}
        _, _, fresh = policy.act(obs3, policy.initial_hidden(2), prev[3], torch.zeros(2))
        torch.testing.assert_close(fresh["logits"][1], seq.logits[3, 1], rtol=1e-5, atol=1e-5)


def test_cma_attention_is_a_distribution_over_real_tokens(clip_dir):
    policy = build_policy(_cfg("cma"), V, clip_dir).eval()
    batch, prev, _ = _sequence(T=1, B=3)
    obs = {k: (v[0] if k in ("rgb", "depth") else v) for k, v in batch.items()}
    with torch.no_grad():
        _, _, ex = policy.act(obs, policy.initial_hidden(3), prev[0], torch.zeros(3))
    att = ex["attention"]
    lengths = batch["instruction_mask"].sum(1)
    assert att.shape == (3, int(lengths.max()))
    for b in range(3):
        n = int(lengths[b])
        assert abs(float(att[b, :n].sum()) - 1.0) < 1e-5 and float(att[b, n:].abs().sum()) == 0.0


def test_instruction_of_only_padding_gives_finite_actions(clip_dir):
    policy = build_policy(_cfg("cma"), V, clip_dir).eval()
    batch, prev, _ = _sequence(T=1, B=2)
    obs = {k: (v[0] if k in ("rgb", "depth") else torch.zeros_like(v)) for k, v in batch.items()}
    actions, h, ex = policy.act(obs, policy.initial_hidden(2), prev[0], torch.zeros(2))
    assert torch.isfinite(ex["logits"]).all() and torch.isfinite(h).all()


def test_cached_clip_features_give_the_same_outputs_as_images(clip_dir):
    policy = build_policy(_cfg("cma"), V, clip_dir).eval()
    batch, prev, masks = _sequence(T=3, B=2)
    masks[0] = 0
    T, B = 3, 2
    with torch.no_grad():
        f = policy.clip.encode_image(batch["rgb"].reshape(T * B, H, W, 3))
        cached = {k: v for k, v in batch.items() if k != "rgb"}
        cached["rgb_pooled"] = f.pooled.reshape(T, B, -1)
        cached["rgb_patches"] = f.patches.reshape(T, B, *f.patches.shape[1:])
        a = policy.forward_sequence(batch, policy.initial_hidden(B), prev, masks).logits
        b = policy.forward_sequence(cached, policy.initial_hidden(B), prev, masks).logits
    torch.testing.assert_close(a, b)
