"""CLIP, depth and instruction encoders (tiny random configs; nothing is downloaded)."""
import numpy as np
import pytest
import torch

from agents.encoders import CLIPEncoder, DepthEncoder, LSTMInstructionEncoder, build_tiny_clip
from agents.encoders.clip import CLIP_MEAN, CLIP_STD
from vlnsim.errors import ConfigError


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return build_tiny_clip(tmp_path_factory.mktemp("clip"), vocab_size=50, image_size=32, patch_size=8)


def _images(n=3, size=40, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8))


def test_tiny_clip_round_trips_through_save_pretrained(tiny_clip, tmp_path):
    a = CLIPEncoder(tiny_clip)
    a.model.save_pretrained(str(tmp_path / "again"))
    b = CLIPEncoder(tmp_path / "again")
    imgs = _images()
    fa, fb = a.encode_image(imgs), b.encode_image(imgs)
    assert torch.equal(fa.pooled, fb.pooled) and torch.equal(fa.patches, fb.patches)
    ids = torch.tensor([[5, 9, 3, 0, 0], [7, 1, 2, 4, 8]])
    ta, tb = a.encode_text(ids), b.encode_text(ids)
    assert torch.equal(ta.tokens, tb.tokens) and torch.equal(ta.pooled, tb.pooled)
    # (32 / 8)^2 patches of the tower's width, projections of the configured size.
    assert fa.patches.shape == (3, 16, 32) and fa.pooled.shape == (3, 32) and ta.tokens.shape == (2, 5, 32)


def test_image_pooled_matches_transformers_get_image_features(tiny_clip):
    enc = CLIPEncoder(tiny_clip)
    imgs = _images(size=32)
    ours = enc.encode_image(imgs).pooled
    ref = enc.model.get_image_features(pixel_values=enc.preprocess(imgs))
    ref = ref if isinstance(ref, torch.Tensor) else ref.pooler_output
    torch.testing.assert_close(ours, ref)


def test_text_pooling_is_clip_eos_pooling_when_last_token_is_eos(tiny_clip):
    # With eos_token_id == 2 transformers pools at argmax(input_ids); make the last real
    # token the largest id so both poolings select the same position.
    enc = CLIPEncoder(tiny_clip)
    ids = torch.tensor([[3, 7, 49, 0, 0, 0], [4, 5, 6, 8, 9, 48]])
    ours = enc.encode_text(ids).pooled
    ref = enc.model.get_text_features(input_ids=ids, attention_mask=(ids != 0).long())
    ref = ref if isinstance(ref, torch.Tensor) else ref.pooler_output
    torch.testing.assert_close(ours, ref)


def test_preprocess_normalises_with_clip_statistics(tiny_clip):
    enc = CLIPEncoder(tiny_clip)
    img = torch.full((1, 17, 23, 3), 200, dtype=torch.uint8)  # odd size: resized to 32x32
    x = enc.preprocess(img)
    assert x.shape == (1, 3, 32, 32)
    expect = (200 / 255.0 - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD)
    torch.testing.assert_close(x[0, :, 5, 7], expect)


def test_frozen_encoder_has_no_trainable_weights_and_stays_in_eval(tiny_clip):
    enc = CLIPEncoder(tiny_clip, trainable=False)
    wrapper = torch.nn.Sequential(enc)
    wrapper.train()
    assert not enc.model.training
    assert not any(p.requires_grad for p in enc.parameters())
    assert not enc.encode_image(_images()).pooled.requires_grad
    trainable = CLIPEncoder(tiny_clip, trainable=True)
    out = trainable.encode_image(_images())
    out.pooled.sum().backward()
    assert trainable.model.visual_projection.weight.grad is not None


def test_missing_clip_directory_or_uncached_hub_name_raises(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="config.json"):
        CLIPEncoder(tmp_path / "empty")
    with pytest.raises(ConfigError, match="not-a-real-org/no-such-clip"):
        CLIPEncoder("not-a-real-org/no-such-clip")


def test_depth_encoder_shapes_clipping_and_gradients():
    enc = DepthEncoder(channels=(8, 16, 16), output_dim=24, input_size=32, max_depth=5.0)
    d = torch.rand(2, 32, 32, 1) * 4
    spatial, pooled = enc(d)
    assert spatial.shape == (2, 16, 16) and pooled.shape == (2, 24)  # 32 / 2^3 = 4 -> 4x4 grid
    far = torch.full((1, 32, 32, 1), 5.0)
    farther = torch.full((1, 32, 32, 1), 50.0)
    torch.testing.assert_close(enc(far)[1], enc(farther)[1])  # beyond max_depth reads as max_depth
    pooled.sum().backward()
    assert enc.stem[0].weight.grad.abs().sum() > 0


def test_lstm_instruction_encoder_ignores_padding():
    torch.manual_seed(0)
    enc = LSTMInstructionEncoder(vocab_size=30, embedding_dim=8, hidden_size=6)
    short = torch.tensor([[4, 5, 6, 0, 0, 0, 0, 0]])
    longer = torch.tensor([[4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
    a_tok, a_mask, a_pool = enc(short, short != 0)
    b_tok, b_mask, b_pool = enc(longer, longer != 0)
    torch.testing.assert_close(a_pool, b_pool)
    assert a_tok.shape == (1, 3, 12) and a_mask.all()
    other = torch.tensor([[4, 5, 7, 0]])
    assert not torch.allclose(enc(other, other != 0)[2], a_pool)
