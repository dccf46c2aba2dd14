"""Task heads on a tiny random encoder stack: losses fall when overfitting, beam search,
ITM re-ranking, answer vocabulary, save/load."""

import pytest
import torch

from agents.heads.captioning import CaptionHead, CaptionHeadConfig
from agents.heads.features import TowerCache, freeze_towers
from agents.heads.retrieval import RetrievalHeadConfig, itc_similarity, itm_rerank, rank_scores, retrieval_loss
from agents.heads.task_model import TaskModel
from agents.heads.vqa import AnswerVocab, VQAHead, VQAHeadConfig, majority_baseline, predict_answers
from heads_fixtures import random_images, tiny_encoder

CAPTIONS = ["a red chair near the window", "a blue bed in the bedroom", "two green lamps on the left",
            "a white sofa in the living room", "a black table and a rug", "a small brown door on the right"]
QUESTIONS = ["what room is this?", "how many lamps are there?", "what color is the sofa?", "what is left of the bed?"]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    torch.manual_seed(0)
    return tiny_encoder(CAPTIONS + QUESTIONS + ["a picture of"], tmp_path_factory.mktemp("tok"))


def _steps(params, fn, n, lr):
    opt = torch.optim.AdamW(params, lr=lr)
    losses = []
    for _ in range(n):
        loss = fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def test_answer_vocab_top_n_and_soft_targets():
    anns = [{"answers": [{"answer": a} for a in ["Two"] * 4 + ["3"] * 2 + ["two."] * 3 + ["none"]]},
            {"answers": [{"answer": "red"}] * 10}]
    vocab = AnswerVocab.from_annotations(anns, top_n=3)
    # normalised counts: "2" 7, "red" 10, "3" 2, "0" 1 -> top 3 by count
    assert vocab.answers == ["red", "2", "3"]
    t = vocab.targets([a["answer"] for a in anns[0]["answers"]])
    assert t.tolist() == pytest.approx([0.0, 1.0, 2 / 3])
    assert majority_baseline([{"multiple_choice_answer": "2", "answers": [], "f": "count"},
                              {"multiple_choice_answer": "2", "answers": [], "f": "count"},
                              {"multiple_choice_answer": "red", "answers": [], "f": "color"}], "f") == \
        {"": "2", "count": "2", "color": "red"}


@pytest.mark.parametrize("inputs,positions,extra", [("cls", False, 0), ("cls+image", True, 1)])
def test_vqa_head_loss_falls_overfitting(encoder, inputs, positions, extra):
    torch.manual_seed(1)
    images = random_images(4, seed=1)
    answers = ["bedroom", "2", "white", "bed"]
    vocab = AnswerVocab(["bedroom", "2", "white", "bed", "kitchen", "3"])
    feats = TowerCache(encoder, images, QUESTIONS)
    freeze_towers(encoder)
    head = VQAHead(encoder.config.fusion_hidden, len(vocab), dropout=0.0, inputs=inputs, image_positions=positions,
                   image_width=encoder.vision_hidden, image_tokens=encoder.grid ** 2 + 1, extra_layers=extra,
                   fusion_config=encoder.fusion_config)
    targets = torch.stack([vocab.targets([a] * 10) for a in answers])
    if inputs == "cls":  # the UNITER head is exactly a classifier on the fused [CLS]
        with torch.no_grad():
            fused = encoder.fuse(feats.images(range(4)), feats.texts(range(4))).hidden_states[:, 0]
            assert torch.equal(head.answer_logits(encoder, feats.images(range(4)), feats.texts(range(4))), head(fused))

    def loss():
        return VQAHead.loss(head.answer_logits(encoder, feats.images(range(4)), feats.texts(range(4))), targets)

    params = list(head.parameters()) + [p for p in encoder.fusion.parameters()]
    losses = _steps(params, loss, 60, 3e-3)
    assert losses[-1] < 0.2 * losses[0]
    if positions:
        assert head.image_pos.grad is not None and head.image_pos.grad.abs().sum() > 0
    with torch.no_grad():
        logits = head.answer_logits(encoder, feats.images(range(4)), feats.texts(range(4)))
        assert predict_answers(logits, vocab) == answers


def test_retrieval_loss_falls_overfitting(encoder):
    torch.manual_seed(2)
    images = random_images(6, seed=2)
    feats = TowerCache(encoder, images, CAPTIONS)
    freeze_towers(encoder)
    ids = torch.arange(6)
    params = [p for n, p in encoder.named_parameters() if p.requires_grad]
    losses = _steps(params, lambda: retrieval_loss(encoder, feats.images(range(6)), feats.texts(range(6)), ids)[0], 80, 2e-3)
    assert losses[-1] < 0.5 * losses[0]
    sims = itc_similarity(feats, 6, 6)
    assert (sims.argmax(1) == torch.arange(6)).all()


def test_itm_rerank_scores_top_k_only(encoder):
    images = random_images(5, seed=3)
    feats = TowerCache(encoder, images, CAPTIONS)
    sims = itc_similarity(feats, 5, 6)
    s_i2t, s_t2i = itm_rerank(encoder, feats, sims, k=2)
    with torch.no_grad():
        for i in range(5):
            top = sims[i].topk(2).indices.tolist()
            for j in range(6):
                if j in top:
                    itm = encoder.fuse(feats.images([i]), feats.texts([j])).itm_score.item()
                    assert s_i2t[i, j] == pytest.approx(itm + sims[i, j].item(), abs=1e-5)
                else:  # below every re-ranked entry, ITC order kept
                    assert s_i2t[i, j] == pytest.approx(sims[i, j].item() - 10.0, abs=1e-5)
                    assert s_i2t[i, j] < min(s_i2t[i, t] for t in top)
        # text -> image direction re-ranks each text's own top 2 images
        for j in range(6):
            top = sims[:, j].topk(2).indices.tolist()
            assert all(s_t2i[i, j] > -5 for i in top) and all(s_t2i[i, j] < -5 for i in range(5) if i not in top)
    report = rank_scores(encoder, feats, 5, 6, RetrievalHeadConfig(k_test=2))
    assert set(report) == {"itc", "itm_i2t", "itm_t2i"}


def _caption_head(encoder, **kw):
    cfg = CaptionHeadConfig(num_layers=1, num_heads=2, hidden_size=32, min_new_tokens=1, max_new_tokens=12, **kw)
    vocab = CaptionHead.vocab_from_captions(encoder.tokenizer, CAPTIONS, cfg.prompt)
    torch.manual_seed(3)
    return CaptionHead(cfg, encoder.tokenizer, encoder.vision_hidden, encoder.text, vocab)


def test_caption_head_overfits_and_decodes_without_prompt(encoder):
    images = random_images(4, seed=4)
    with torch.no_grad():
        tokens = encoder.encode_image(images).tokens
    head = _caption_head(encoder)
    assert head.prompt_length == 4  # [CLS] a picture of
    losses = _steps(head.parameters(), lambda: head(tokens, CAPTIONS[:4]), 120, 3e-3)
    assert losses[-1] < 0.1 * losses[0]
    assert head.caption(tokens, num_beams=1) == CAPTIONS[:4]
    assert head.caption(tokens, num_beams=3) == CAPTIONS[:4]


def test_beam_search_returns_sorted_length_normalised_hypotheses(encoder):
    images = random_images(2, seed=5)
    with torch.no_grad():
        tokens = encoder.encode_image(images).tokens
    head = _caption_head(encoder)
    _steps(head.parameters(), lambda: head(tokens, CAPTIONS[:2]), 30, 3e-3)  # partly trained: distinct beams
    head.eval()
    lp = 0.7
    out = head.generate(tokens[:1], num_beams=5, num_return_sequences=5, length_penalty=lp)
    scores = out.sequences_scores.tolist()
    assert scores == sorted(scores, reverse=True)
    assert len({tuple(s.tolist()) for s in out.sequences}) == 5
    # Each hypothesis' score = its log-probability under the decoder / (generated length)^lp.
    P, eos = head.prompt_length, head._compact(encoder.tokenizer.sep_token_id)
    memory = head.image_states(tokens[:1])
    with torch.no_grad():
        for seq, score in zip(out.sequences, scores):
            ids = seq.tolist()
            end = ids.index(eos, P) + 1 if eos in ids[P:] else len(ids)
            s = seq[:end][None]
            logp = head.decoder(input_ids=s, encoder_hidden_states=memory, use_cache=False).logits.log_softmax(-1)
            total = logp[0, P - 1:-1].gather(1, s[0, P:, None]).sum().item()
            assert score == pytest.approx(total / (end - P) ** lp, abs=1e-4)


def test_caption_vocab_maps_back_to_tokenizer_ids(encoder):
    head = _caption_head(encoder)
    ids, _ = head.tokenize(["a red chair near the window"])
    full = encoder.tokenizer(["a picture of a red chair near the window"])["input_ids"][0]
    assert head.compact_to_full[ids[0]].tolist() == full
    assert len(head.vocab_ids) < len(encoder.tokenizer)


def test_task_model_round_trip(encoder, tmp_path):
    images = random_images(3, seed=6)
    vocab = AnswerVocab(["bedroom", "2", "white"])
    vqa = TaskModel.build("vqa", encoder, VQAHeadConfig(num_answers=3, inputs="cls+image", image_positions=True,
                                                        extra_layers=1),
                          answers=vocab, seed=1)
    with torch.no_grad():
        vqa.head.image_pos.normal_()  # a non-zero learned embedding must survive the round trip
    cap_cfg = CaptionHeadConfig(num_layers=1, num_heads=2, hidden_size=32, max_new_tokens=6)
    cap = TaskModel.build("caption", encoder, cap_cfg,
                          caption_vocab=CaptionHead.vocab_from_captions(encoder.tokenizer, CAPTIONS, cap_cfg.prompt))
    for model in (vqa, cap):
        model.save_pretrained(tmp_path / model.task)
        loaded = TaskModel.from_pretrained(tmp_path / model.task).eval()
        model.eval()
        with torch.no_grad():
            tok = model.encoder.encode_image(images).tokens
            tok2 = loaded.encoder.encode_image(images).tokens
            assert torch.allclose(tok, tok2)
            if model.task == "vqa":
                txt = model.encoder.encode_text(model.encoder.tokenize(QUESTIONS[:3]))
                a = model.head.answer_logits(model.encoder, tok, txt)
                txt2 = loaded.encoder.encode_text(loaded.encoder.tokenize(QUESTIONS[:3]))
                b = loaded.head.answer_logits(loaded.encoder, tok2, txt2)
                assert torch.allclose(a, b, atol=1e-6)
                assert loaded.answers.answers == vocab.answers
            else:
                assert loaded.head.caption(tok2) == model.head.caption(tok)


def test_vision_split_matches_encode_image_and_trains_top_layers_only(tmp_path):
    """Cached lower-layer states + the top k layers give exactly ``encode_image``'s outputs,
    and the task loss reaches the top k vision layers but no lower one."""
    from agents.heads.features import VisionSplit
    from agents.vlp import VLPConfig, VLPModel
    from heads_fixtures import TINY_TEXT, TINY_VISION

    cfg = VLPConfig(vision=None, vision_config=dict(TINY_VISION, num_hidden_layers=3), text=None,
                    text_config=dict(TINY_TEXT), embed_dim=32, fusion_hidden=32, fusion_layers=1, fusion_heads=2,
                    max_text_length=32)
    model = VLPModel.build(cfg, texts=CAPTIONS, work_dir=tmp_path, seed=3).eval()
    images = random_images(5, seed=7)
    with torch.no_grad():
        ref = model.encode_image(images)
        for k in range(4):
            split = VisionSplit(model, k)
            tokens, pooled = split.top(split.bottom(images))
            assert torch.allclose(tokens, ref.tokens, atol=1e-6) and torch.allclose(pooled, ref.pooled, atol=1e-6)
    with pytest.raises(Exception, match="vision_trainable_layers=4"):
        VisionSplit(model, 4)
    freeze_towers(model, 1)
    cache = TowerCache(model, images, CAPTIONS[:5], vision_trainable_layers=1)
    out = cache.images([4, 0, 4])
    assert torch.allclose(out.tokens, ref.tokens[[4, 0, 4]], atol=1e-6)
    model.fuse(out, cache.texts([0, 1, 2])).hidden_states.sum().backward()
    layers = model.vision.vision_model.encoder.layers if hasattr(model.vision, "vision_model") else model.vision.encoder.layers
    assert layers[2].mlp.fc1.weight.grad is not None and layers[2].mlp.fc1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in layers[1].parameters())
    assert all(p.grad is None for p in model.text.parameters())
