"""DAgger pieces: the beta schedule, inflection weighting and episode scheduling."""
from __future__ import annotations

from typing import List, Sequence

import numpy as np


def dagger_beta(p: float, iteration: int) -> float:
    """Probability of executing the expert's action at ``iteration``: beta = p ** iteration."""
    if p == 0.0:
        return 1.0 if iteration == 0 else 0.0
    return float(p ** iteration)


def inflection_mask(labels: np.ndarray) -> np.ndarray:
    """True where the expert action differs from the previous step's (and at t = 0), as VLN-CE."""
    labels = np.asarray(labels)
    out = np.ones(len(labels), dtype=bool)
    if len(labels) > 1:
        out[1:] = labels[1:] != labels[:-1]
    return out


def inflection_weights(labels: np.ndarray, coef: float) -> np.ndarray:
    """Per-step loss weight: ``coef`` at inflections, 1 elsewhere."""
    return np.where(inflection_mask(labels), np.float32(coef), np.float32(1.0)).astype(np.float32)


def inflection_coefficient(label_sequences: Sequence[np.ndarray]) -> float:
    """VLN-CE's automatic coefficient: total steps / inflection steps (1 / inflection ratio)."""
    total = sum(len(s) for s in label_sequences)
    infl = sum(int(inflection_mask(s).sum()) for s in label_sequences)
    return float(total) / float(infl) if infl else 1.0


def episode_schedule(episode_ids: Sequence[str], seed: int, iteration: int, count: int) -> List[str]:
    """The ``count`` episodes of ``iteration``: consecutive slices of seeded permutations.

    Pass k over the split uses permutation ``default_rng((seed, k))``, so the schedule of
    any iteration is a pure function of (seed, iteration) and resume reproduces it.
    """
    n = len(episode_ids)
    if n == 0:
        return []
    out: List[str] = []
    start = iteration * count
    pos = start
    while len(out) < count:
        k, offset = divmod(pos, n)
        perm = np.random.default_rng((seed, 7919, k)).permutation(n)
        take = min(count - len(out), n - offset)
        out.extend(str(episode_ids[i]) for i in perm[offset: offset + take])
        pos += take
    return out
