"""R2R evaluation on a navigation graph, as the R2R evaluation scripts compute it.

Trajectories and references are sequences of viewpoint ids; every distance is a
*graph* distance (shortest path along edges weighted by Euclidean length, see
``NavGraph.distances``), as in R2R's ``eval.py`` and Ilharco et al.'s nDTW code:

* NE  = d(last, goal); SR = 1[NE < 3 m] (the episode ends by STOP or the step limit;
  R2R's evaluation scores the final viewpoint either way); OSR = 1[min_t d(v_t, goal) < 3].
* TL  = sum of d(v_t, v_{t+1}); SPL = SR * d(start, goal) / max(TL, d(start, goal)).
* nDTW = exp(-DTW / (|R| * 3)), DTW with cost d(q_i, r_j) (exact DP); SDTW = SR * nDTW.
* CLS = PC * LS with PC = mean_r exp(-min_q d(r, q) / 3), EPL = PC * PL(R),
  LS = EPL / (EPL + |EPL - PL(Q)|), PL along the graph.

Keys match ``vlnsim.metrics.METRIC_KEYS`` so ``vlnsim.metrics.aggregate`` averages them.
"""
from __future__ import annotations

import math
from typing import Dict, Sequence

import numpy as np

from .graph import NavGraph

SUCCESS_DISTANCE = 3.0


def graph_dtw(cost: np.ndarray) -> float:
    """DTW over a (|Q|, |R|) cost matrix (steps: (i-1, j), (i, j-1), (i-1, j-1))."""
    nq, nr = cost.shape
    dp = np.full((nq + 1, nr + 1), np.inf)
    dp[0, 0] = 0.0
    for i in range(1, nq + 1):
        for j in range(1, nr + 1):
            dp[i, j] = cost[i - 1, j - 1] + min(dp[i - 1, j], dp[i, j - 1], dp[i - 1, j - 1])
    return float(dp[nq, nr])


def r2r_metrics(graph: NavGraph, trajectory: Sequence[str], reference: Sequence[str],
                success_distance: float = SUCCESS_DISTANCE) -> Dict[str, float]:
    """Per-episode R2R metrics of a viewpoint trajectory against the reference path."""
    if not trajectory or not reference:
        raise ValueError("trajectory and reference must be non-empty sequences of viewpoint ids")
    q = [graph.idx(v) for v in trajectory]
    r = [graph.idx(v) for v in reference]
    d = graph.distances
    goal = r[-1]
    ne = float(d[q[-1], goal])
    success = ne < success_distance
    tl = float(sum(d[a, b] for a, b in zip(q[:-1], q[1:])))
    shortest = float(d[r[0], goal])
    spl = (shortest / max(tl, shortest) if max(tl, shortest) > 0 else 1.0) if success else 0.0
    cost = d[np.ix_(q, r)]
    ndtw = math.exp(-graph_dtw(cost) / (len(r) * success_distance))
    pc = float(np.exp(-cost.min(axis=0) / success_distance).mean())
    pl_r = float(sum(d[a, b] for a, b in zip(r[:-1], r[1:])))
    epl = pc * pl_r
    denom = epl + abs(epl - tl)
    ls = 1.0 if denom == 0 else epl / denom
    return {
        "success": float(success),
        "spl": float(spl),
        "ne": ne,
        "oracle_success": float(min(d[v, goal] for v in q) < success_distance),
        "tl": tl,
        "ndtw": float(ndtw),
        "sdtw": float(ndtw) if success else 0.0,
        "cls": pc * ls,
    }
