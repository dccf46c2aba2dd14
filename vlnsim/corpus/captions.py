"""Grounded captions written from a view's ground truth.

Every fact in a caption is read from the renderer's semantic and depth sensors: the
room the camera stands in, the salient furniture (category and colour), where each
object sits across the image (left / middle / right) and whether it is near or far.
Six caption styles (overview, positions, left-to-right, near/far, counts, focus)
each have several phrasings; an image gets ``count`` captions of different styles.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, List, Sequence

import numpy as np

from .views import View, VisibleObject

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
SIDE_PHRASES = {"left": ("on the left", "at the left"), "centre": ("in the middle", "in the center"),
                "right": ("on the right", "at the right")}


def article(phrase: str) -> str:
    """``phrase`` with "a" or "an" in front."""
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def plural(noun: str) -> str:
    """English plural of a category name ("bookshelf" -> "bookshelves")."""
    if noun.endswith("shelf"):
        return noun[:-1] + "ves"
    if noun.endswith(("sh", "ch", "s", "x")):
        return noun + "es"
    return noun + "s"


def describe(obj: VisibleObject) -> str:
    """"a blue sofa" (colour omitted when the object has none)."""
    return article(f"{obj.color} {obj.category}" if obj.color else obj.category)


def join_list(items: Sequence[str]) -> str:
    """"a, b and c"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _overview(v: View, rng) -> str:
    things = join_list(describe(o) for o in v.objects[:3])
    form = _pick(rng, ("{r} with {t}", "inside {r}: {t}", "a view of {r} showing {t}", "{t} in {r}"))
    return form.format(r=article(v.room), t=things)


def _positions(v: View, rng) -> str:
    parts = [f"{describe(o)} {_pick(rng, SIDE_PHRASES[o.side])}" for o in v.objects[:3]]
    form = _pick(rng, ("{p}", "there is {p}", "{p}, in {r}"))
    return form.format(p=join_list(parts), r=article(v.room))


def _left_to_right(v: View, rng) -> str:
    order = sorted(v.objects[:4], key=lambda o: o.cx)
    form = _pick(rng, ("from left to right: {t}", "{t}, from left to right", "in {r}, from left to right, {t}"))
    return form.format(t=join_list(describe(o) for o in order), r=article(v.room))


def _near_far(v: View, rng) -> str:
    near = [o for o in v.objects[:4] if o.distance == "near"]
    far = [o for o in v.objects[:4] if o.distance == "far"]
    if near and far:
        form = _pick(rng, ("{n} close to the camera and {f} further away", "{n} in the foreground, {f} in the background"))
        return form.format(n=describe(near[0]), f=describe(far[0]))
    o = min(v.objects[:4], key=lambda o: o.depth)
    where = "close to the camera" if o.distance == "near" else "far from the camera"
    form = _pick(rng, ("{o} {w} in {r}", "the nearest thing is {o}, {w}"))
    return form.format(o=describe(o), w=where, r=article(v.room))


def _counts(v: View, rng) -> str:
    by_cat = Counter(o.category for o in v.objects)
    parts = []
    for cat, n in sorted(by_cat.items(), key=lambda kv: (-kv[1], kv[0]))[:3]:
        colors = {o.color for o in v.objects if o.category == cat}
        name = f"{colors.pop()} {cat}" if len(colors) == 1 and "" not in colors else cat
        parts.append(article(name) if n == 1 else f"{NUMBER_WORDS.get(n, str(n))} {plural(name)}")
    form = _pick(rng, ("{r} containing {p}", "{p} in {r}", "this {room} has {p}"))
    return form.format(r=article(v.room), room=v.room, p=join_list(parts))


def _focus(v: View, rng) -> str:
    o = v.objects[0]
    side = _pick(rng, SIDE_PHRASES[o.side])
    form = _pick(rng, ("{o} {s} in {r}", "mostly {o}, {s}, in {r}", "{r}; the biggest thing in view is {o} {s}"))
    return form.format(o=describe(o), s=side, r=article(v.room))


STYLES: List[Callable[[View, np.random.Generator], str]] = [_overview, _positions, _left_to_right, _near_far, _counts, _focus]


def _empty(v: View, rng) -> List[str]:
    return [article(v.room) + " with bare walls", "an empty corner of " + article(v.room),
            "a wall of " + article(v.room), "nothing but walls and floor in " + article(v.room),
            "an empty view inside " + article(v.room)]


def captions(view: View, rng: np.random.Generator, count: int = 5) -> List[str]:
    """``count`` distinct captions of ``view`` (overview and positions always among them)."""
    if not view.objects:
        out = _empty(view, rng)
        return (out * (count // len(out) + 1))[:count]
    styles = [_overview, _positions] + [STYLES[i] for i in 2 + rng.permutation(len(STYLES) - 2)]
    out: List[str] = []
    for k in range(count):
        style = styles[k % len(styles)]
        text = style(view, rng)
        for _ in range(4):  # a repeated style draws another phrasing
            if text not in out:
                break
            text = style(view, rng)
        out.append(text)
    return out
