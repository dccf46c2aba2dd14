"""Retrieval recall against a brute-force loop written as the papers' evaluation code reads."""
import numpy as np
import pytest

from agents.metrics.retrieval import image_to_text_ranks, rankings, retrieval_metrics, text_to_image_ranks


def _brute(scores, t2i, ks=(1, 5, 10)):
    n_img, n_txt = scores.shape
    img2txt = [[j for j in range(n_txt) if t2i[j] == i] for i in range(n_img)]
    i2t_ranks = []
    for i in range(n_img):
        order = sorted(range(n_txt), key=lambda j: (-scores[i, j], j))
        i2t_ranks.append(min(order.index(j) for j in img2txt[i]))
    t2i_ranks = []
    for j in range(n_txt):
        order = sorted(range(n_img), key=lambda i: (-scores[i, j], i))
        t2i_ranks.append(order.index(t2i[j]))
    out = {}
    for k in ks:
        out[f"i2t_r{k}"] = np.mean([r < k for r in i2t_ranks])
        out[f"t2i_r{k}"] = np.mean([r < k for r in t2i_ranks])
    return out, i2t_ranks, t2i_ranks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_img = 23
    t2i = np.repeat(np.arange(n_img), rng.integers(1, 6, size=n_img))
    rng.shuffle(t2i)
    scores = rng.normal(size=(n_img, len(t2i)))
    # Ties, so the tie rule is exercised too.
    scores = np.round(scores, 1)
    scores[:, ::3] += 0.5 * (np.arange(n_img)[:, None] == t2i[None, ::3])
    expected, i2t_ranks, t2i_ranks = _brute(scores, t2i)
    assert image_to_text_ranks(scores, t2i).tolist() == i2t_ranks
    assert text_to_image_ranks(scores, t2i).tolist() == t2i_ranks
    got = retrieval_metrics(scores, t2i)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value)
    assert got["rsum"] == pytest.approx(100 * sum(expected.values()))


def test_any_caption_counts_for_image():
    # Image 0 has captions 0 and 1; caption 1 is ranked first for image 0 -> hit at 1.
    scores = np.array([[0.1, 0.9, 0.5], [0.2, 0.0, 0.8]])
    t2i = [0, 0, 1]
    m = retrieval_metrics(scores, t2i)
    assert m["i2t_r1"] == 1.0
    # Caption 0 ranks image 1 (0.2) above image 0 (0.1): a text->image miss at 1.
    assert m["t2i_r1"] == pytest.approx(2 / 3)
    assert m["rsum"] == pytest.approx(100 * (1 + 1 + 1 + 2 / 3 + 1 + 1))


def test_perfect_and_validation():
    scores = np.eye(4)
    assert retrieval_metrics(scores, [0, 1, 2, 3])["rsum"] == pytest.approx(600.0)
    with pytest.raises(ValueError, match="image 3 has no caption"):
        retrieval_metrics(np.zeros((4, 3)), [0, 1, 2])
    with pytest.raises(ValueError, match="one per text column"):
        retrieval_metrics(np.zeros((2, 3)), [0, 1])


def test_rankings_lists_top_indices():
    scores = np.array([[0.1, 0.9, 0.5], [0.7, 0.0, 0.8]])
    r = rankings(scores, top=2)
    assert r["i2t"] == [[1, 2], [2, 0]]
    assert r["t2i"] == [[1, 0], [0, 1], [1, 0]]
