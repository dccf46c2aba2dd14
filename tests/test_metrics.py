"""Metrics against hand computations from the published formulas (docs/ARCHITECTURE.md "Metrics")."""
import math

import numpy as np
import pytest

from vlnsim import metrics


def brute_dtw(a, b):
    """Textbook O(nm) DTW with Euclidean cost, cell by cell."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    D = np.full((len(a) + 1, len(b) + 1), np.inf)
    D[0, 0] = 0.0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            D[i, j] = np.linalg.norm(a[i - 1] - b[j - 1]) + min(D[i - 1, j], D[i, j - 1], D[i - 1, j - 1])
    return D[-1, -1]


def xz(points):
    return [[x, 0.0, z] for x, z in points]


def test_r4r_doctest_example():
    # r4r README / VLN-CE nDTW example on a grid: prediction along a row, reference bends away;
    # the optimal alignment is the diagonal with costs 0 + 0 + 1 + 2.
    prediction = xz([(0, 0), (1, 0), (2, 0), (3, 0)])
    reference = xz([(0, 0), (1, 0), (2, 1), (3, 2)])
    assert metrics.dtw(prediction, reference) == pytest.approx(3.0)
    assert metrics.ndtw(prediction, reference, threshold=3.0) == pytest.approx(math.exp(-3.0 / (4 * 3.0)))
    assert metrics.ndtw(prediction, reference) == pytest.approx(0.7788007830714049)
    assert metrics.sdtw(prediction, reference, success=True) == pytest.approx(0.7788007830714049)
    assert metrics.sdtw(prediction, reference, success=False) == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_dtw_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(rng.integers(1, 15), 3)) * 3
    b = rng.normal(size=(rng.integers(1, 15), 3)) * 3
    assert metrics.dtw(a, b) == pytest.approx(brute_dtw(a, b), rel=1e-12, abs=1e-12)
    assert metrics.dtw(a, b) == pytest.approx(metrics.dtw(b, a))


def test_dtw_repeated_points_cost_nothing_extra():
    ref = xz([(0, 0), (2, 0), (4, 0)])
    path = xz([(0, 0), (0, 0), (2, 0), (2, 0), (2, 0), (4, 0)])
    assert metrics.dtw(path, ref) == 0.0
    assert metrics.ndtw(path, ref) == 1.0


def test_identical_paths():
    ref = xz([(0, 0), (1, 0), (1, 2), (3, 2)])
    assert metrics.ndtw(ref, ref) == 1.0
    assert metrics.cls(ref, ref) == pytest.approx(1.0)
    assert metrics.sdtw(ref, ref, success=True) == 1.0
    assert metrics.sdtw(ref, ref, success=False) == 0.0


def test_cls_hand_computed():
    # reference (0,0)->(4,0): PL(R)=4; path (0,1)->(4,1): PL(Q)=4; every r is 1 m from the path
    ref = xz([(0, 0), (4, 0)])
    path = xz([(0, 1), (4, 1)])
    pc = math.exp(-1 / 3.0)
    epl = pc * 4
    ls = epl / (epl + abs(epl - 4))
    assert metrics.cls(path, ref) == pytest.approx(pc * ls)
    # a detour doubles the path length: coverage 1 at both reference points, LS = 4 / (4 + 4)
    detour = xz([(0, 0), (2, 2), (4, 0), (2, 2), (4, 0)])
    pl = 4 * math.sqrt(8)
    assert metrics.cls(detour, ref) == pytest.approx(4 / (4 + abs(4 - pl)))


def test_spl_cases():
    assert metrics.spl(True, 10.0, 10.0) == 1.0
    assert metrics.spl(True, 10.0, 20.0) == 0.5
    assert metrics.spl(True, 10.0, 5.0) == 1.0  # max(l*, TL) in the denominator
    assert metrics.spl(False, 10.0, 10.0) == 0.0


def test_path_length():
    assert metrics.path_length(xz([(0, 0), (3, 4), (3, 4), (3, 0)])) == pytest.approx(9.0)
    assert metrics.path_length([[1, 2, 3]]) == 0.0


def test_episode_metrics_and_aggregate():
    euclid = lambda a, b: float(np.linalg.norm(np.asarray(a, float) - np.asarray(b, float)))
    ref = xz([(0, 0), (5, 0), (10, 0)])
    goal = [10, 0, 0]
    # reaches the goal area and stops 2 m short: success, TL 8, SPL 10/max(10, 8) = 1
    ok = metrics.episode_metrics(xz([(0, 0), (4, 0), (8, 0)]), ref, goal, True, euclid, shortest=10.0)
    assert ok["success"] == 1.0 and ok["oracle_success"] == 1.0
    assert ok["ne"] == pytest.approx(2.0) and ok["tl"] == pytest.approx(8.0) and ok["spl"] == 1.0
    assert ok["sdtw"] == pytest.approx(ok["ndtw"])
    # passes the goal (oracle success) but stops 6 m past it: failure
    over = metrics.episode_metrics(xz([(0, 0), (10, 0), (16, 0)]), ref, goal, True, euclid, shortest=10.0)
    assert over["success"] == 0.0 and over["oracle_success"] == 1.0 and over["sdtw"] == 0.0 and over["spl"] == 0.0
    # never called STOP: not a success even at the goal
    nostop = metrics.episode_metrics(ref, ref, goal, False, euclid, shortest=10.0)
    assert nostop["success"] == 0.0 and nostop["ndtw"] == 1.0
    agg = metrics.aggregate([ok, over, nostop])
    assert agg["episodes"] == 3
    assert agg["sr"] == pytest.approx(1 / 3) and agg["osr"] == 1.0
    assert agg["ne"] == pytest.approx((2 + 6 + 0) / 3)
    assert set(agg) == {"ne", "sr", "osr", "spl", "tl", "ndtw", "sdtw", "cls", "episodes"}


def test_bad_inputs():
    with pytest.raises(ValueError):
        metrics.dtw([], [[0, 0, 0]])
    with pytest.raises(ValueError):
        metrics.ndtw([[0, 0, float("nan")]], [[0, 0, 0]])
    with pytest.raises(ValueError):
        metrics.aggregate([])
    with pytest.raises(ValueError):
        metrics.aggregate([{"success": 1.0}])
