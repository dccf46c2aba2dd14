"""CLEVR-style question families over a view's ground truth, and answer balancing.

Each family is a small program over the salient objects of a ``View`` (see
``views.py``); a question is only asked when its answer is exact, e.g. never about a
category that is visible only as a sliver below the salience threshold. Every family
has many possible answers (categories, colours, numbers, rooms), and
``balance_questions`` keeps the most frequent answer of each family under ``cap``.

Families: existence ("which one is in the picture, a bed or a sofa?"), counting,
colour query, category query, room query, left/right relation, count comparison.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .captions import SIDE_PHRASES, article, plural
from .views import FURNITURE, View

FAMILIES = ("existence", "counting", "colour", "category", "room", "relation", "comparison")


@dataclass(frozen=True)
class QA:
    """One question with its exact answer."""

    family: str
    question: str
    answer: str

    @property
    def answer_type(self) -> str:
        return "number" if self.family == "counting" else "other"


def _counts(view: View) -> Counter:
    return Counter(o.category for o in view.objects)


def _absent(view: View, rng: np.random.Generator, k: int) -> List[str]:
    seen = set(_counts(view)) | set(view.partial)
    pool = [c for c in FURNITURE if c not in seen]
    return [pool[i] for i in rng.permutation(len(pool))[:k]]


def existence(view: View, rng) -> List[QA]:
    present = [c for c in sorted(_counts(view)) if c not in view.partial]
    out = []
    for c, other in zip(present, _absent(view, rng, len(present))):
        a, b = (c, other) if rng.random() < 0.5 else (other, c)
        out.append(QA("existence", f"which one is in the picture, {article(a)} or {article(b)}?", c))
    return out


def counting(view: View, rng) -> List[QA]:
    counts = _counts(view)
    cats = [c for c in sorted(counts) if c not in view.partial] + _absent(view, rng, 1)
    out = [QA("counting", f"how many {plural(c)} are there?", str(counts.get(c, 0))) for c in cats]
    if not view.partial:  # totals are exact only when no furniture is cut below the threshold
        out.append(QA("counting", "how many pieces of furniture can you see?", str(len(view.objects))))
        for side, phrase in (("left", "on the left"), ("right", "on the right")):
            n = sum(o.side == side for o in view.objects)
            out.append(QA("counting", f"how many objects are {phrase}?", str(n)))
    colours = Counter(o.color for o in view.objects if o.color)
    for col, n in sorted(colours.items()):
        out.append(QA("counting", f"how many {col} things are there?", str(n)))
    return out


def colour(view: View, rng) -> List[QA]:
    counts = _counts(view)
    return [QA("colour", f"what color is the {o.category}?", o.color) for o in view.objects
            if o.color and counts[o.category] == 1 and o.category not in view.partial]


def category(view: View, rng) -> List[QA]:
    keys = Counter((o.color, o.side) for o in view.objects)
    return [QA("category", f"what is the {o.color} thing {SIDE_PHRASES[o.side][0]}?", o.category)
            for o in view.objects if o.color and keys[(o.color, o.side)] == 1]


def room(view: View, rng) -> List[QA]:
    form = ("what room is this?", "which room is shown?", "what kind of room is this picture taken in?")
    return [QA("room", form[int(rng.integers(len(form)))], view.room)]


def relation(view: View, rng) -> List[QA]:
    out = []
    refs = Counter((o.color, o.category) for o in view.objects)
    for ref in view.objects:
        if not ref.color or refs[(ref.color, ref.category)] != 1:
            continue
        for word, sign in (("left", -1), ("right", 1)):
            # exact only when everything on that side (by a clear margin) is one category
            side = {o.category for o in view.objects if o is not ref and sign * (o.cx - ref.cx) > 0.08}
            close = [o for o in view.objects if o is not ref and abs(o.cx - ref.cx) <= 0.08]
            if len(side) == 1 and not close:
                out.append(QA("relation", f"what is to the {word} of the {ref.color} {ref.category}?", side.pop()))
    return out


def comparison(view: View, rng) -> List[QA]:
    counts = _counts(view)
    present = [c for c in sorted(counts) if c not in view.partial]
    cands = present + _absent(view, rng, 1)
    out = []
    for i, a in enumerate(cands):
        for b in cands[i + 1:]:
            if counts.get(a, 0) == counts.get(b, 0):
                continue
            x, y = (a, b) if rng.random() < 0.5 else (b, a)
            more = a if counts.get(a, 0) > counts.get(b, 0) else b
            out.append(QA("comparison", f"which are there more of, {plural(x)} or {plural(y)}?", more))
    return out[:4]


PROGRAMS = {"existence": existence, "counting": counting, "colour": colour, "category": category,
            "room": room, "relation": relation, "comparison": comparison}


def candidate_questions(view: View, rng: np.random.Generator) -> Dict[str, List[QA]]:
    """All exact questions each family can ask about ``view``."""
    return {fam: PROGRAMS[fam](view, rng) for fam in FAMILIES}


def balance_questions(candidates: Sequence[Dict[str, List[QA]]], rng: np.random.Generator,
                      cap: float = 0.3, min_count: int = 3) -> List[List[QA]]:
    """Pick at most one question per family per image so no answer dominates its family.

    Images are visited in a seeded random order; for each family the image's candidate
    with the currently rarest answer is taken if that answer's share would stay within
    ``cap`` (the first ``min_count`` of every answer are always allowed).
    Returns the chosen questions per image, in the input order.
    """
    counts: Dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    chosen: List[List[QA]] = [[] for _ in candidates]
    for i in rng.permutation(len(candidates)).tolist():
        for fam in FAMILIES:
            cands = candidates[i].get(fam, [])
            if not cands:
                continue
            qa = min(cands, key=lambda q: (counts[fam][q.answer], q.question))
            n = counts[fam][qa.answer]
            if n < min_count or (n + 1) / (totals[fam] + 1) <= cap:
                counts[fam][qa.answer] += 1
                totals[fam] += 1
                chosen[i].append(qa)
    return chosen


def family_stats(questions: Sequence[Sequence[QA]]) -> Dict[str, Tuple[int, float, str]]:
    """family -> (questions, share of the most frequent answer, that answer)."""
    by_fam: Dict[str, Counter] = defaultdict(Counter)
    for qs in questions:
        for q in qs:
            by_fam[q.family][q.answer] += 1
    out = {}
    for fam, c in by_fam.items():
        ans, n = c.most_common(1)[0]
        out[fam] = (sum(c.values()), n / sum(c.values()), ans)
    return out
