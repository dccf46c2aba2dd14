"""Navigation metrics: NE, SR, OSR, SPL, TL, nDTW, SDTW, CLS.

Definitions follow docs/ARCHITECTURE.md "Metrics" (Anderson et al. 2018 for SPL; Ilharco et al.
2019 for nDTW/SDTW; Jain et al. 2019 for CLS). Paths are sequences of ``[x, y, z]``
points in metres; ``threshold`` is the success distance ``d_th`` (3.0 m in VLN-CE).

>>> ref = [[0, 0, 0], [1, 0, 0], [2, 0, 1], [3, 0, 2]]
>>> path = [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]]
>>> round(dtw(path, ref), 6), round(ndtw(path, ref), 4)
(3.0, 0.7788)
"""
from __future__ import annotations

import math
from typing import Callable, Dict, Iterable, List, Mapping, Sequence

import numpy as np

DEFAULT_THRESHOLD = 3.0
METRIC_KEYS = ("success", "spl", "ne", "oracle_success", "tl", "ndtw", "sdtw", "cls")
AGGREGATE_KEYS = ("ne", "sr", "osr", "spl", "tl", "ndtw", "sdtw", "cls", "episodes")

GeodesicFn = Callable[[Sequence[float], Sequence[float]], float]


def _points(path: Sequence[Sequence[float]], name: str) -> np.ndarray:
    arr = np.asarray(path, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] not in (2, 3):
        raise ValueError(f"{name} must be a non-empty sequence of [x, y, z] points, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds non-finite coordinates")
    return arr


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def path_length(path: Sequence[Sequence[float]]) -> float:
    """Trajectory length TL: the sum of Euclidean step lengths."""
    p = _points(path, "path")
    if len(p) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())


def dtw(path: Sequence[Sequence[float]], reference: Sequence[Sequence[float]]) -> float:
    """Dynamic time warping distance with Euclidean point cost (exact DP).

    The DP ``D[i, j] = c[i, j] + min(D[i-1, j], D[i, j-1], D[i-1, j-1])`` is solved a
    row at a time: within row i, ``D[i, j] = C[j] + min_{k<=j}(m[k] - C[k-1])`` with
    ``C`` the running sum of the row's costs and ``m[k] = min(D[i-1, k], D[i-1, k-1])``,
    i.e. one cumulative minimum per row instead of a Python loop over cells.
    """
    q = _points(path, "path")
    r = _points(reference, "reference")
    if len(q) > len(r):  # loop over the shorter side; DTW is symmetric in its arguments
        q, r = r, q
    cost = _pairwise(q, r)
    prev = np.cumsum(cost[0])  # first row: only moves along the row
    for i in range(1, cost.shape[0]):
        row = cost[i]
        m = prev.copy()
        m[1:] = np.minimum(prev[1:], prev[:-1])
        csum = np.cumsum(row)
        c_before = np.concatenate(([0.0], csum[:-1]))
        prev = csum + np.minimum.accumulate(m - c_before)
    return float(prev[-1])


def ndtw(path: Sequence[Sequence[float]], reference: Sequence[Sequence[float]], threshold: float = DEFAULT_THRESHOLD) -> float:
    """Normalised DTW: ``exp(-DTW(Q, R) / (|R| * d_th))``."""
    r = _points(reference, "reference")
    return float(math.exp(-dtw(path, r) / (len(r) * threshold)))


def sdtw(path: Sequence[Sequence[float]], reference: Sequence[Sequence[float]], success: bool, threshold: float = DEFAULT_THRESHOLD) -> float:
    """Success weighted by nDTW: ``S * nDTW``."""
    return ndtw(path, reference, threshold) if success else 0.0


def cls(path: Sequence[Sequence[float]], reference: Sequence[Sequence[float]], threshold: float = DEFAULT_THRESHOLD) -> float:
    """Coverage weighted by length score: ``CLS = PC * LS``.

    ``PC = mean_r exp(-min_q |r - q| / d_th)``, ``EPL = PC * PL(R)``,
    ``LS = EPL / (EPL + |EPL - PL(Q)|)``. When both lengths are zero (a one-point
    reference followed in place) LS is taken as 1, its limit for matching lengths.
    """
    q = _points(path, "path")
    r = _points(reference, "reference")
    pc = float(np.exp(-_pairwise(r, q).min(axis=1) / threshold).mean())
    epl = pc * path_length(r)
    denom = epl + abs(epl - path_length(q))
    ls = 1.0 if denom == 0 else epl / denom
    return pc * ls


def spl(success: bool, shortest: float, taken: float) -> float:
    """Success weighted by path length: ``S * l* / max(l*, TL)``."""
    if not success:
        return 0.0
    denom = max(float(shortest), float(taken))
    return 1.0 if denom <= 0 else float(shortest) / denom


def navigation_error(position: Sequence[float], goal: Sequence[float], geodesic_fn: GeodesicFn) -> float:
    """NE: geodesic distance from the final position to the goal."""
    return float(geodesic_fn(position, goal))


def is_success(stopped: bool, ne: float, success_distance: float = DEFAULT_THRESHOLD) -> bool:
    """SR indicator: STOP was called within ``success_distance`` of the goal."""
    return bool(stopped) and float(ne) < success_distance


def oracle_success(path: Sequence[Sequence[float]], goal: Sequence[float], geodesic_fn: GeodesicFn,
                   success_distance: float = DEFAULT_THRESHOLD) -> bool:
    """OSR indicator: some point of the path came within ``success_distance`` of the goal."""
    p = _points(path, "path")
    # consecutive duplicates (turns, collisions) need no second geodesic query
    keep = np.ones(len(p), dtype=bool)
    keep[1:] = np.any(p[1:] != p[:-1], axis=1)
    return any(float(geodesic_fn(pt, goal)) < success_distance for pt in p[keep])


def episode_metrics(path: Sequence[Sequence[float]], reference: Sequence[Sequence[float]], goal: Sequence[float],
                    stopped: bool, geodesic_fn: GeodesicFn, shortest: float,
                    success_distance: float = DEFAULT_THRESHOLD) -> Dict[str, float]:
    """All per-episode metrics of one trajectory ``path`` against ``reference``.

    ``geodesic_fn(point, goal)`` gives geodesic distances (NE, OSR); ``shortest`` is the
    geodesic start-goal distance l*. ``success_distance`` is also the nDTW/CLS d_th.
    """
    p = _points(path, "path")
    ne = navigation_error(p[-1], goal, geodesic_fn)
    success = is_success(stopped, ne, success_distance)
    tl = path_length(p)
    nd = ndtw(p, reference, success_distance)
    return {
        "success": float(success),
        "spl": spl(success, shortest, tl),
        "ne": ne,
        "oracle_success": float(oracle_success(p, goal, geodesic_fn, success_distance)),
        "tl": tl,
        "ndtw": nd,
        "sdtw": nd if success else 0.0,
        "cls": cls(p, reference, success_distance),
    }


def aggregate(episodes: Iterable[Mapping[str, float]]) -> Dict[str, float]:
    """Mean of per-episode metrics: ``ne, sr, osr, spl, tl, ndtw, sdtw, cls`` plus ``episodes`` (count)."""
    rows: List[Mapping[str, float]] = list(episodes)
    if not rows:
        raise ValueError("aggregate() needs at least one episode's metrics; got none")
    for i, row in enumerate(rows):
        missing = [k for k in METRIC_KEYS if k not in row]
        if missing:
            raise ValueError(f"episode metrics #{i} lacks keys {missing}; expected {list(METRIC_KEYS)}")

    def mean(key: str) -> float:
        return float(np.mean([float(r[key]) for r in rows]))

    return {
        "ne": mean("ne"),
        "sr": mean("success"),
        "osr": mean("oracle_success"),
        "spl": mean("spl"),
        "tl": mean("tl"),
        "ndtw": mean("ndtw"),
        "sdtw": mean("sdtw"),
        "cls": mean("cls"),
        "episodes": len(rows),
    }
