"""Official VQA v2 accuracy and answer normalisation, against hand-computed values."""
import pytest

from agents.metrics.vqa import (
    CONTRACTIONS,
    evaluate_vqa,
    normalize_answer,
    process_punctuation,
    soft_score,
    vqa_accuracy,
)


def _gts(match: int, answer: str = "2", other: str = "3") -> list:
    return [answer] * match + [other] * (10 - match)


@pytest.mark.parametrize(
    "m, expected",
    # m of 10 humans agree: mean over the 10 leave-one-out subsets of min(1, matches/3).
    # m=1: 1 subset with 0 matches, 9 with 1 -> 9/30; m=2: 2·(1/3)+8·(2/3) = 6/10;
    # m=3: 3·(2/3)+7·1 = 9/10; m>=4: every subset keeps >= 3 matches.
    [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (10, 1.0)],
)
def test_accuracy_leave_one_out(m, expected):
    assert vqa_accuracy("2", _gts(m)) == pytest.approx(expected)


def test_accuracy_brute_force_subsets():
    gts = ["yes", "yes", "no", "yes", "maybe", "no", "no", "yes", "no", "no"]
    for pred in ("yes", "no", "maybe", "blue"):
        subsets = [gts[:i] + gts[i + 1:] for i in range(10)]
        expected = sum(min(1.0, s.count(pred) / 3) for s in subsets) / 10
        assert vqa_accuracy(pred, gts) == pytest.approx(expected)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Two", "2"),                       # number words -> digits, lower case
        ("none", "0"),
        ("The dog", "dog"),                 # articles dropped
        ("a red ball", "red ball"),
        ("yes.", "yes"),                    # final period stripped
        ("2.5", "2.5"),                     # decimal point kept
        ("black/white", "black white"),     # mark inside a word becomes a space
        ("black / white", "black white"),   # mark next to a space is deleted
        ("dont", "don't"),                  # contractions restored
        ("couldnt've", "couldn't've"),
        ("isnt it", "isn't it"),
        ("its", "its"),                     # a real word, left alone
        ("Yes!\n", "yes"),
        ("  on the   table ", "on table"),
        ("1,000", "1000"),                  # digit comma: every mark deleted
    ],
)
def test_normalisation(raw, expected):
    assert normalize_answer(raw) == expected


def test_contraction_table_official_entries():
    # Entries of the official table (GT-Vision-Lab/VQA vqaEval.py), including its quirks.
    assert CONTRACTIONS["wont"] == "won't"
    assert CONTRACTIONS["twas"] == "'twas"
    assert CONTRACTIONS["y'allll"] == "y'all'll"
    assert CONTRACTIONS["somebody'd"] == "somebodyd"
    assert "its" not in CONTRACTIONS and "im" not in CONTRACTIONS


def test_ground_truth_processing_matches_official_script():
    # Human answers get punctuation processing only when they disagree, and never the
    # digit/article step (the official script's behaviour).
    assert vqa_accuracy("red", ["red."] * 10) == 0.0
    assert vqa_accuracy("red", ["red."] * 9 + ["blue"]) == 1.0
    assert vqa_accuracy("2", ["two"] * 10) == 0.0
    assert process_punctuation("hello, world") == "hello world"


def test_prediction_normalised_before_matching():
    assert vqa_accuracy("Two.", ["2"] * 10) == 1.0
    assert vqa_accuracy("the kitchen", ["kitchen"] * 3 + ["bedroom"] * 7) == pytest.approx(0.9)


def test_soft_score():
    assert [soft_score(c) for c in range(5)] == pytest.approx([0, 1 / 3, 2 / 3, 1, 1])


def test_evaluate_vqa_groups():
    anns = [
        {"question_id": 1, "answers": [{"answer": "yes"}] * 10, "answer_type": "yes/no", "family": "exist"},
        {"question_id": 2, "answers": [{"answer": "2"}] * 2 + [{"answer": "3"}] * 8, "answer_type": "number", "family": "count"},
        {"question_id": 3, "answers": [{"answer": "red"}] * 10, "answer_type": "other", "family": "color"},
    ]
    res = evaluate_vqa({1: "yes", 2: "2", 3: "blue"}, anns, family_key="family")
    assert res["overall"] == pytest.approx((1.0 + 0.6 + 0.0) / 3)
    assert res["per_family"] == pytest.approx({"color": 0.0, "count": 0.6, "exist": 1.0})
    assert res["per_answer_type"]["number"] == pytest.approx(0.6)
    with pytest.raises(KeyError, match="question_id 3"):
        evaluate_vqa({1: "yes", 2: "2"}, anns)
