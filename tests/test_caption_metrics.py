"""Captioning metrics: hand-computed BLEU/ROUGE-L/CIDEr-D values and the official pipeline."""
import math

import pytest

pytest.importorskip("pycocoevalcap")

from agents.metrics.captioning import caption_scores, java_available, tokenize  # noqa: E402

SENTENCES = [
    "A man riding a wave on top of a surfboard.",
    "The dog's toy isn't here!",
    'A black-and-white photo (old) of 2.5 cats, 1,000 dogs.',
    'He said "hello" to them; then left...',
    "A kitchen with a stove/oven & a sink?",
    "it's 3:30 o'clock -- time's up",
    "they're we've I'll she'd I'm cannot",
    "A man's hat e.g. U.S. flags, 50% off $5",
]


def test_tokenize_hand_cases():
    assert tokenize("A man riding a wave.") == "a man riding a wave"
    assert tokenize("The dog's toy isn't here!") == "the dog 's toy is n't here"
    assert tokenize("a cat (left)") == "a cat -lrb- left -rrb-"


@pytest.mark.skipif(not java_available(), reason="no java on PATH: the Stanford PTB tokenizer is a Java program")
def test_tokenize_equals_stanford_ptb():
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    ref = PTBTokenizer().tokenize({i: [{"caption": s}] for i, s in enumerate(SENTENCES)})
    assert [tokenize(s) for s in SENTENCES] == [ref[i][0] for i in range(len(SENTENCES))]


def _scores(refs, preds):
    return caption_scores(refs, preds, meteor=False)


def test_bleu_hand_computed():
    # hyp "the cat sat on the mat" vs ref "the cat is on the mat": clipped n-gram
    # precisions 5/6, 3/5, 1/4, 0/3; equal lengths so no brevity penalty.
    s = _scores({1: ["the cat is on the mat"]}, {1: "The cat sat on the mat."})
    assert s["bleu_1"] == pytest.approx(5 / 6, abs=1e-6)
    assert s["bleu_2"] == pytest.approx(math.sqrt(5 / 6 * 3 / 5), abs=1e-6)
    assert s["bleu_3"] == pytest.approx(0.5, abs=1e-6)
    assert s["bleu_4"] < 1e-3
    # LCS 5 of 6 words both ways -> P = R = F = 5/6.
    assert s["rouge_l"] == pytest.approx(5 / 6)


def test_bleu_brevity_penalty():
    s = _scores({1: ["the cat is on the mat"]}, {1: "the cat"})
    assert s["bleu_1"] == pytest.approx(math.exp(1 - 6 / 2), abs=1e-6)
    assert s["bleu_2"] == pytest.approx(math.exp(1 - 6 / 2), abs=1e-6)


def test_cider_d_hand_computed():
    # Two images, one reference each, no shared n-grams: idf = log 2 for every n-gram.
    # Exact hypothesis: cosine 1 for n = 1, 2 and no 3-/4-grams -> 10 · (1 + 1 + 0 + 0)/4 = 5.
    refs = {1: ["red chair"], 2: ["blue lamp"]}
    assert _scores(refs, {1: "red chair", 2: "blue lamp"})["cider_d"] == pytest.approx(5.0)
    # "red" vs "red chair": unigram cosine 1/√2, Gaussian length penalty exp(-1/(2·6²)).
    a = 10 * (1 / math.sqrt(2)) * math.exp(-1 / 72) / 4
    assert _scores(refs, {1: "red", 2: "blue lamp"})["cider_d"] == pytest.approx((a + 5.0) / 2)


def test_equals_pycocoevalcap_scorers_on_same_tokens():
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    refs = {
        7: ["a red chair near the window", "a chair that is red", "the red chair by a window"],
        9: ["a kitchen with a white fridge", "white fridge in a kitchen"],
        11: ["a bed in a bedroom", "the bedroom has a blue bed"],
    }
    preds = {7: "a red chair by the window", 9: "a kitchen with a fridge", 11: "a blue bed in the bedroom"}
    gts = {k: [tokenize(c) for c in v] for k, v in refs.items()}
    res = {k: [tokenize(v)] for k, v in preds.items()}
    ours = _scores(refs, preds)
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    assert [ours[f"bleu_{n}"] for n in range(1, 5)] == pytest.approx(bleu)
    assert ours["cider_d"] == pytest.approx(Cider().compute_score(gts, res)[0])
    assert ours["rouge_l"] == pytest.approx(Rouge().compute_score(gts, res)[0])
    assert "meteor" in ours["skipped"] and "spice" in ours["skipped"]


def test_meteor_skipped_without_java(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    s = caption_scores({1: ["a red chair"]}, {1: "a red chair"})
    assert "meteor" not in s
    assert "no `java` on PATH" in s["skipped"]["meteor"]


def test_mismatched_ids_rejected():
    with pytest.raises(KeyError, match="no prediction"):
        _scores({1: ["a"], 2: ["b"]}, {1: "a"})


@pytest.mark.slow
@pytest.mark.skipif(not java_available(), reason="no java on PATH: METEOR is a Java program")
def test_meteor_with_java():
    s = caption_scores({1: ["a red chair near the window"]}, {1: "a red chair near the window"}, meteor=True)
    assert s["meteor"] == pytest.approx(1.0, abs=0.05)
    assert "meteor" not in s["skipped"]
