"""R2R metrics on the graph against hand-computed cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

from vlnsim.discrete.graph import NavGraph
from vlnsim.discrete.metrics import r2r_metrics


def line_graph():
    """A - B - C - D on a line, 2 m apart, plus E 2 m beside C reachable only via D (D-E 2 m apart)."""
    pos = [[0, 0, 0], [2, 0, 0], [4, 0, 0], [6, 0, 0], [6, 0, -2]]
    n = len(pos)
    edges = np.zeros((n, n), dtype=bool)
    for i, j in ((0, 1), (1, 2), (2, 3), (3, 4)):
        edges[i, j] = edges[j, i] = True
    return NavGraph("s", list("ABCDE"), pos, np.full(n, 1.5), edges, np.ones((n, n), bool), np.ones(n, bool))


def test_overshoot_case():
    g = line_graph()
    m = r2r_metrics(g, ["A", "B", "D"], ["A", "B", "C"])
    # d(D, C) = 2 < 3: success; TL = 2 + 4; l* = 4
    assert m["ne"] == pytest.approx(2.0) and m["success"] == 1.0 and m["oracle_success"] == 1.0
    assert m["tl"] == pytest.approx(6.0)
    assert m["spl"] == pytest.approx(4 / 6)
    # DTW by hand: cost rows Q=[A,B,D], cols R=[A,B,C]: [[0,2,4],[2,0,2],[6,4,2]] -> 0+0+2 = 2
    assert m["ndtw"] == pytest.approx(math.exp(-2 / 9))
    assert m["sdtw"] == pytest.approx(math.exp(-2 / 9))
    pc = (1 + 1 + math.exp(-2 / 3)) / 3
    epl = pc * 4
    assert m["cls"] == pytest.approx(pc * epl / (epl + abs(epl - 6)))


def test_stop_at_start_fails():
    g = line_graph()
    m = r2r_metrics(g, ["A"], ["A", "B", "C"])
    assert m["ne"] == pytest.approx(4.0)
    assert m["success"] == 0.0 and m["spl"] == 0.0 and m["sdtw"] == 0.0 and m["oracle_success"] == 0.0
    assert m["tl"] == 0.0
    # DTW: Q=[A] against [A,B,C]: 0 + 2 + 4 = 6
    assert m["ndtw"] == pytest.approx(math.exp(-6 / 9))


def test_graph_distance_not_euclidean():
    g = line_graph()
    # E is 2 m (Euclidean) from C but 4 m along the graph: not a success
    m = r2r_metrics(g, ["A", "B", "C", "D", "E"], ["A", "B", "C"])
    assert m["ne"] == pytest.approx(4.0) and m["success"] == 0.0
    assert m["oracle_success"] == 1.0  # it passed through C
    assert m["tl"] == pytest.approx(8.0)


def test_exact_path():
    g = line_graph()
    m = r2r_metrics(g, ["A", "B", "C"], ["A", "B", "C"])
    assert m == {"success": 1.0, "spl": 1.0, "ne": 0.0, "oracle_success": 1.0, "tl": 4.0, "ndtw": 1.0, "sdtw": 1.0,
                 "cls": 1.0}
