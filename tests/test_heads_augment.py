"""Augmenting the heads' training data by mirroring (images flipped left-right, "left" and "right"
swapped), test-time mirroring, and fine-tuning's fusion dropout.

The claim it rests on: every corpus question stays exact on the mirrored image once its
sides are swapped. The reference is the corpus' own question programs run on the
mirrored ground truth (each object's centroid column x -> 1 - x).
"""
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import torch

from agents.heads.data import load_image_text, load_vqa_set, mirror_augment, swap_sides
from agents.heads.features import load_images
from vlnsim.corpus.questions import FAMILIES, candidate_questions
from vlnsim.corpus.views import FURNITURE, View, VisibleObject
from heads_fixtures import corpus_texts, tiny_corpus, tiny_encoder


@pytest.mark.parametrize("text, want", [
    ("what is to the left of the red sofa?", "what is to the right of the red sofa?"),
    ("how many objects are on the right?", "how many objects are on the left?"),
    ("Left of the bed, a lamp; the LEFT one is right of it", "Right of the bed, a lamp; the RIGHT one is left of it"),
    ("the leftmost chair", "the rightmost chair"),
    ("a bright room, all rights reserved, a left-hand door", "a bright room, all rights reserved, a right-hand door"),
    ("what room is this?", "what room is this?"),
])
def test_swap_sides(text, want):
    assert swap_sides(text) == want
    assert swap_sides(swap_sides(text)) == text


def _random_view(rng, width=64):
    objects = []
    for k in range(int(rng.integers(1, 7))):
        x0 = int(rng.integers(0, width - 8))
        w = int(rng.integers(4, width - x0))
        cx = float(rng.uniform(0.02, 0.98))
        objects.append(VisibleObject(object_id=k, category=FURNITURE[int(rng.integers(0, 6))],
                                     color=["red", "blue", "green", ""][int(rng.integers(0, 4))],
                                     pixels=1000 - 10 * k, bbox=(x0, 3, w, 9), cx=cx, depth=float(rng.uniform(1, 5))))
    partial = [FURNITURE[7]] if rng.random() < 0.3 else []
    z = np.zeros((2, 2))
    return View(house_index=0, view_index=0, position=[0.0, 0.0, 0.0], yaw=0.0, room="kitchen", rgb=z, depth=z,
                semantic=z, instance=z, objects=objects, partial=partial)


def _mirror(view, width=64):
    objects = [replace(o, cx=1.0 - o.cx, bbox=(width - o.bbox[0] - o.bbox[2], o.bbox[1], o.bbox[2], o.bbox[3]))
               for o in view.objects]
    return replace(view, objects=objects)


def test_every_question_stays_exact_on_the_mirrored_view():
    rng = np.random.default_rng(0)
    asked, sided = Counter(), 0
    for i in range(300):
        view = _random_view(rng)
        seed = int(rng.integers(1 << 30))
        orig = candidate_questions(view, np.random.default_rng(seed))
        mirr = candidate_questions(_mirror(view), np.random.default_rng(seed))
        for fam in FAMILIES:
            want = Counter((swap_sides(q.question), q.answer) for q in orig[fam])
            got = Counter((q.question, q.answer) for q in mirr[fam])
            assert got == want, (fam, view.objects)
            asked[fam] += len(orig[fam])
            sided += sum(swap_sides(q.question) != q.question for q in orig[fam])
    assert all(asked[f] > 0 for f in FAMILIES), asked
    assert sided > 100  # left/right questions are in the sample: the swap is exercised


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror")
    return root, tiny_corpus(root / "corpus")


def test_mirror_augment_doubles_the_set_with_flipped_images(corpus):
    _, path = corpus
    data = load_vqa_set(path, "train")
    aug = mirror_augment(data)
    n, nq = len(data.paths), len(data.questions)
    assert len(aug.paths) == 2 * n and aug.mirrored == [False] * n + [True] * n
    assert len(aug.questions) == 2 * nq
    assert len({q["question_id"] for q in aug.questions}) == 2 * nq and len(set(aug.image_ids)) == 2 * n
    for q, c in zip(aug.questions[:nq], aug.questions[nq:]):
        assert c["image_index"] == q["image_index"] + n
        assert c["question"] == swap_sides(q["question"]) and c["answers"] == q["answers"]  # no side answers here
    assert any(c["question"] != q["question"] for q, c in zip(aug.questions[:nq], aug.questions[nq:]))
    images = load_images(aug.paths, mirrored=aug.mirrored).numpy()
    plain = load_images(data.paths).numpy()
    assert np.array_equal(images[:n], plain)
    assert np.array_equal(images[n:], plain[:, :, ::-1])  # column j of the mirror = column W-1-j
    assert not np.array_equal(images[n:], plain)
    side = mirror_augment(replace(data, questions=[dict(data.questions[0], question="which side is the bed on?",
                                                         answers=["left"] * 9 + ["right"])]))
    assert side.questions[1]["answers"] == ["right"] * 9 + ["left"] and side.questions[0]["answers"][0] == "left"
    caps = load_image_text(path, "train")
    aug_caps = mirror_augment(caps)
    refs = aug_caps.references()
    assert len(refs) == 2 * len(caps.image_ids)
    for iid in caps.image_ids:
        assert refs[-iid - 1] == [swap_sides(c) for c in refs[iid]] and refs[iid] == caps.references()[iid]


def test_finetune_with_mirror_caches_the_flipped_images(corpus):
    from agents.heads.config import load_finetune_config
    from agents.heads.finetune import finetune

    root, path = corpus
    enc = tiny_encoder(corpus_texts(path), root / "tok")
    enc.save_pretrained(root / "encoder")
    cfg = load_finetune_config("finetune_vqa", ["mirror_augment=true", "steps=2", "batch_size=8", "device=cpu",
                                                "vqa.extra_layers=0"],
                               task="vqa", encoder=str(root / "encoder"), data=str(path))
    run = finetune(cfg, root / "run", progress=False)
    train = run["train_data"]
    plain = load_vqa_set(path, "train")
    assert len(train.questions) == 2 * len(plain.questions) and sum(train.mirrored) == len(plain.paths)
    # the encoder's own tokens of a flipped image are what the mirrored copy trains on
    from agents.heads.finetune import build_features

    model = run["model"].encoder.eval()
    feats = build_features(model, train, frozen=True, task="vqa")
    n = len(plain.paths)
    flipped = torch.from_numpy(np.ascontiguousarray(load_images(plain.paths[:2], size=model.image_size).numpy()[:, :, ::-1]))
    with torch.no_grad():
        want = model.encode_image(flipped).tokens
    assert torch.allclose(feats.image_tokens[n:n + 2], want, atol=1e-5)
    assert not torch.allclose(feats.image_tokens[:2], want, atol=1e-3)


def test_mirror_tta_averages_the_mirrored_answer(corpus, tmp_path):
    """evaluate_task and VisionLanguage.answer with ``mirror_tta`` against the average written out by hand."""
    import json

    from agents.heads.api import VisionLanguage
    from agents.heads.evaluate import evaluate_task
    from agents.heads.task_model import TaskModel
    from agents.heads.vqa import AnswerVocab, VQAHeadConfig

    root, path = corpus
    enc = tiny_encoder(corpus_texts(path), root / "tok_tta")
    data = load_vqa_set(path, "test")
    vocab = AnswerVocab.from_annotations(load_vqa_set(path, "train").annotations())
    model = TaskModel.build("vqa", enc, VQAHeadConfig(inputs="cls+image", mirror_tta=True), answers=vocab, seed=4)
    with torch.no_grad():  # a head whose answers depend on the image (a fresh one barely does)
        for p in model.head.parameters():
            p.add_(0.5 * torch.randn_like(p))
    model.eval()
    evaluate_task(model, data, tmp_path / "tta")
    got = {r["question_id"]: r["answer"] for r in json.loads((tmp_path / "tta" / "vqa_results.json").read_text())}
    pixels = load_images(data.paths, size=enc.image_size)
    want, plain = {}, {}
    with torch.no_grad():
        for q in data.questions:
            img = pixels[q["image_index"]][None]
            a = model.head.answer_logits(enc, enc.encode_image(img), enc.encode_text(enc.tokenize([q["question"]])))
            b = model.head.answer_logits(enc, enc.encode_image(img.flip(2)),
                                         enc.encode_text(enc.tokenize([swap_sides(q["question"])])))
            want[q["question_id"]] = vocab.answers[int((torch.sigmoid(a) + torch.sigmoid(b)).argmax())]
            plain[q["question_id"]] = vocab.answers[int(a.argmax())]
    assert got == want
    assert got != plain  # the mirrored half changes some answers: the average is really taken
    model.save_pretrained(tmp_path / "m")
    vl = VisionLanguage.load(tmp_path / "m")
    qs = data.questions[:5]
    assert vl.answer([data.paths[q["image_index"]] for q in qs], [q["question"] for q in qs]) == \
        [want[q["question_id"]] for q in qs]


def test_fusion_dropout_reaches_every_fusion_dropout(corpus):
    from agents.heads.config import load_finetune_config
    from agents.heads.finetune import set_fusion_dropout
    from agents.heads.task_model import TaskModel
    from agents.heads.vqa import AnswerVocab, VQAHeadConfig
    from vlnsim.errors import ConfigError

    root, path = corpus
    enc = tiny_encoder(corpus_texts(path), root / "tok_drop")
    model = TaskModel.build("vqa", enc, VQAHeadConfig(extra_layers=1), answers=AnswerVocab(["a", "b"]))
    before = [m.p for m in model.encoder.fusion.modules() if isinstance(m, torch.nn.Dropout)]
    assert before and all(p == 0.0 for p in before)  # the tiny encoder's own rate
    set_fusion_dropout(model, 0.25)
    drops = [m.p for part in (model.encoder.fusion, model.head.extra) for m in part.modules()
             if isinstance(m, torch.nn.Dropout)]
    assert len(drops) > len(before) and all(p == 0.25 for p in drops)
    assert model.head.classifier[3].p == 0.1  # the classifier's own dropout stays its config's
    with pytest.raises(ConfigError, match="fusion_dropout=1.5"):
        load_finetune_config("finetune_vqa", ["fusion_dropout=1.5"], task="vqa", encoder="x", data="y")
