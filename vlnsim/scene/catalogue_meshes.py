"""Furniture meshes: one builder per catalogue category, composed from primitives.

Every builder ``(w, d, h, rng) -> [(mesh, slot)]`` works in a local frame: footprint
centred on the origin, ``x`` in [-w/2, w/2] (width), ``z`` in [-d/2, d/2] (depth) with
the *front* facing +z and the back at -z, ``y`` from 0 (floor, or the top of the
supporting object) to ``h``. Parts name a material slot: "main" takes the object's
colour (with the category's surface texture), the other slots are fixed looks (see
``catalogue.SLOT_LOOKS``).
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np

from .primitives import Mesh, box, cylinder, frustum, rotate_x_quarter, sphere

Part = Tuple[Mesh, str]


def B(x0: float, y0: float, z0: float, x1: float, y1: float, z1: float) -> Mesh:
    """Box from two corners (any order)."""
    return box((min(x0, x1), min(y0, y1), min(z0, z1)), (max(x0, x1), max(y0, y1), max(z0, z1)))


def fit_uv(mesh: Mesh) -> Mesh:
    """Stretch one texture repeat over the mesh's x-y extent (its front face): canvases, window views."""
    v, f, _ = mesh
    lo, hi = v.min(axis=0), v.max(axis=0)
    uv = (v[:, :2] - lo[:2]) / np.maximum(hi[:2] - lo[:2], 1e-9)
    return v, f, np.clip(uv, 0.001, 0.999)


def _legs(w: float, d: float, h: float, s: float = 0.05, inset: float = 0.03) -> List[Mesh]:
    xs = (-w / 2 + inset, w / 2 - inset - s)
    zs = (-d / 2 + inset, d / 2 - inset - s)
    return [B(x, 0, z, x + s, h, z + s) for x in xs for z in zs]


# ------------------------------------------------------------------ builders
def build_bed(w, d, h, rng) -> List[Part]:
    hb = min(h, 1.1)
    p = [(B(-w / 2, 0, -d / 2, w / 2, 0.3, d / 2), "wood"), (B(-w / 2, 0, -d / 2, w / 2, hb, -d / 2 + 0.07), "wood"),
         (B(-w / 2 + 0.04, 0.3, -d / 2 + 0.07, w / 2 - 0.04, 0.5, d / 2 - 0.03), "linen"),
         (B(-w / 2 + 0.03, 0.3, -d / 2 + 0.75, w / 2 - 0.03, 0.53, d / 2 - 0.01), "main")]
    n = 2 if w > 1.2 else 1
    for i in range(n):
        x0 = -w / 2 + 0.1 + i * (w - 0.2) / n
        p.append((B(x0 + 0.03, 0.5, -d / 2 + 0.12, x0 + (w - 0.2) / n - 0.03, 0.62, -d / 2 + 0.5), "linen"))
    return p


def build_sofa(w, d, h, rng) -> List[Part]:
    arm = 0.18
    p = [(B(-w / 2, 0.08, -d / 2, w / 2, 0.42, d / 2), "main"), (B(-w / 2, 0.08, -d / 2, w / 2, h, -d / 2 + 0.22), "main"),
         (B(-w / 2, 0.08, -d / 2, -w / 2 + arm, 0.62, d / 2), "main"), (B(w / 2 - arm, 0.08, -d / 2, w / 2, 0.62, d / 2), "main")]
    n = max(1, int(round((w - 2 * arm) / 0.65)))
    cw = (w - 2 * arm) / n
    for i in range(n):
        x0 = -w / 2 + arm + i * cw
        p.append((B(x0 + 0.01, 0.42, -d / 2 + 0.22, x0 + cw - 0.01, 0.5, d / 2 - 0.02), "main"))
    p += [(m, "dark") for m in _legs(w, d, 0.08, 0.06, 0.02)]
    return p


def build_armchair(w, d, h, rng) -> List[Part]:
    return build_sofa(w, d, h, rng)


def build_table(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, h - 0.04, -d / 2, w / 2, h, d / 2), "main")] + [(m, "main") for m in _legs(w, d, h - 0.04, 0.05)]


def build_round_table(w, d, h, rng) -> List[Part]:
    r = min(w, d) / 2
    return [(cylinder((0, 0), r, h - 0.04, h, 24), "main"), (cylinder((0, 0), 0.05, 0.03, h - 0.04, 12), "main"),
            (cylinder((0, 0), r * 0.45, 0.0, 0.03, 18), "main")]


def build_chair(w, d, h, rng) -> List[Part]:
    seat = 0.45
    p = [(B(-w / 2, seat - 0.05, -d / 2, w / 2, seat, d / 2), "main"), (B(-w / 2, seat, -d / 2, w / 2, h, -d / 2 + 0.05), "main")]
    return p + [(m, "main") for m in _legs(w, d, seat - 0.05, 0.04, 0.01)]


def build_office_chair(w, d, h, rng) -> List[Part]:
    p = [(cylinder((0, 0), 0.03, 0.06, 0.42, 12), "metal"), (B(-w / 2, 0.42, -d / 2 + 0.05, w / 2, 0.5, d / 2), "main"),
         (B(-w / 2 + 0.03, 0.55, -d / 2, w / 2 - 0.03, h, -d / 2 + 0.06), "main")]
    for a in np.linspace(0, 2 * np.pi, 5, endpoint=False):
        cx, cz = 0.22 * np.cos(a), 0.22 * np.sin(a)
        p.append((B(min(0, cx) - 0.02, 0.02, min(0, cz) - 0.02, max(0, cx) + 0.02, 0.06, max(0, cz) + 0.02), "dark"))
        p.append((cylinder((cx, cz), 0.025, 0.0, 0.02, 9), "dark"))
    return p


def build_stool(w, d, h, rng) -> List[Part]:
    return [(cylinder((0, 0), w / 2, h - 0.05, h, 18), "main"), (cylinder((0, 0), 0.03, 0.0, h - 0.05, 12), "metal"),
            (cylinder((0, 0), w / 2 * 0.8, 0.0, 0.03, 18), "metal")]


def build_bench(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, h - 0.06, -d / 2, w / 2, h, d / 2), "main"), (B(-w / 2, 0, -d / 2, -w / 2 + 0.06, h - 0.06, d / 2), "main"),
            (B(w / 2 - 0.06, 0, -d / 2, w / 2, h - 0.06, d / 2), "main")]


def build_desk(w, d, h, rng) -> List[Part]:
    p = [(B(-w / 2, h - 0.04, -d / 2, w / 2, h, d / 2), "main"), (B(-w / 2, 0, -d / 2, -w / 2 + 0.04, h - 0.04, d / 2), "main"),
         (B(w / 2 - 0.42, 0, -d / 2, w / 2, h - 0.04, d / 2 - 0.02), "main")]
    for i in range(3):
        y0 = 0.05 + i * (h - 0.12) / 3
        p.append((B(w / 2 - 0.4, y0 + 0.02, d / 2 - 0.02, w / 2 - 0.02, y0 + (h - 0.12) / 3 - 0.02, d / 2), "dark wood"))
    return p


def _doors(w: float, h: float, d: float, y0: float, n: int, slot: str, knob: str = "metal") -> List[Part]:
    p = []
    for i in range(n):
        x0 = -w / 2 + 0.02 + i * (w - 0.04) / n
        x1 = x0 + (w - 0.04) / n - 0.02
        p.append((B(x0, y0, d / 2, x1, h, d / 2 + 0.02), slot))
        kx = x1 - 0.06 if i % 2 == 0 else x0 + 0.04
        p.append((B(kx, y0 + (h - y0) * 0.45, d / 2 + 0.02, kx + 0.02, y0 + (h - y0) * 0.55, d / 2 + 0.04), knob))
    return p


def build_wardrobe(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0, -d / 2, w / 2, h, d / 2 - 0.04), "main")] + _doors(w, h - 0.03, d - 0.08, 0.08, 2, "main")


def build_cabinet(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0, -d / 2, w / 2, h, d / 2 - 0.04), "main")] + _doors(w, h - 0.03, d - 0.08, 0.05, max(1, round(w / 0.45)), "main")


def build_bookshelf(w, d, h, rng) -> List[Part]:
    t = 0.03
    p = [(B(-w / 2, 0, -d / 2, -w / 2 + t, h, d / 2), "main"), (B(w / 2 - t, 0, -d / 2, w / 2, h, d / 2), "main"),
         (B(-w / 2 + t, 0, -d / 2, w / 2 - t, h, -d / 2 + 0.02), "main")]
    shelves = max(3, int(h / 0.35))
    for i in range(shelves + 1):
        y = i * (h - t) / shelves
        p.append((B(-w / 2 + t, y, -d / 2 + 0.02, w / 2 - t, y + t, d / 2), "main"))
        if i < shelves:
            # a few blocks of books per shelf, coloured by the book slots
            x = -w / 2 + t + 0.02
            while x < w / 2 - t - 0.15:
                bw = float(rng.uniform(0.12, 0.3))
                bh = float(rng.uniform(0.18, 0.28))
                p.append((B(x, y + t, -d / 2 + 0.04, min(x + bw, w / 2 - t - 0.02), y + t + bh, d / 2 - 0.05),
                          ("book red", "book blue", "book green", "book cream")[int(rng.integers(4))]))
                x += bw + float(rng.uniform(0.02, 0.2))
    return p


def build_shelving(w, d, h, rng) -> List[Part]:
    p = [(cylinder((x, z), 0.015, 0, h, 9), "metal") for x in (-w / 2 + 0.02, w / 2 - 0.02) for z in (-d / 2 + 0.02, d / 2 - 0.02)]
    for i in range(4):
        y = 0.1 + i * (h - 0.14) / 3
        p.append((B(-w / 2, y, -d / 2, w / 2, y + 0.03, d / 2), "main"))
    return p


def build_tv(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0.06, -0.02, w / 2, h, 0.02), "dark"), (B(-w / 2 + 0.02, 0.08, 0.02, w / 2 - 0.02, h - 0.02, 0.025), "screen"),
            (B(-0.12, 0, -d / 2, 0.12, 0.02, d / 2), "dark"), (B(-0.03, 0.02, -0.03, 0.03, 0.08, 0.0), "dark")]


def build_refrigerator(w, d, h, rng) -> List[Part]:
    split = h * 0.62
    return [(B(-w / 2, 0, -d / 2, w / 2, h, d / 2 - 0.03), "main"), (B(-w / 2 + 0.01, 0.02, d / 2 - 0.03, w / 2 - 0.01, split - 0.01, d / 2), "main"),
            (B(-w / 2 + 0.01, split + 0.01, d / 2 - 0.03, w / 2 - 0.01, h - 0.01, d / 2), "main"),
            (B(w / 2 - 0.08, split - 0.35, d / 2, w / 2 - 0.05, split - 0.05, d / 2 + 0.04), "metal"),
            (B(w / 2 - 0.08, split + 0.05, d / 2, w / 2 - 0.05, split + 0.35, d / 2 + 0.04), "metal")]


def build_stove(w, d, h, rng) -> List[Part]:
    p = [(B(-w / 2, 0, -d / 2, w / 2, h - 0.02, d / 2 - 0.02), "main"), (B(-w / 2, h - 0.02, -d / 2, w / 2, h, d / 2 - 0.02), "dark"),
         (B(-w / 2 + 0.06, 0.15, d / 2 - 0.02, w / 2 - 0.06, h - 0.2, d / 2), "screen"),
         (B(-w / 2 + 0.08, h - 0.16, d / 2 - 0.02, w / 2 - 0.08, h - 0.13, d / 2 + 0.03), "metal"),
         (B(-w / 2, h, -d / 2, w / 2, h + 0.12, -d / 2 + 0.05), "main")]
    for x in (-w / 4, w / 4):
        for z in (-d / 5, d / 6):
            p.append((cylinder((x, z), 0.08, h, h + 0.015, 15), "metal"))
    return p


def build_sink(w, d, h, rng) -> List[Part]:
    p = [(B(-w / 2, 0, -d / 2, w / 2, h - 0.04, d / 2 - 0.03), "main"), (B(-w / 2, h - 0.04, -d / 2, w / 2, h, d / 2), "white")]
    p += _doors(w, h - 0.08, d - 0.06, 0.08, 2, "main")
    p.append((frustum((0, 0.02), min(w, d) * 0.25, min(w, d) * 0.33, h, h + 0.02, 21), "steel"))
    p.append((cylinder((0, -d / 2 + 0.08), 0.02, h, h + 0.28, 12), "steel"))
    p.append((B(-0.015, h + 0.24, -d / 2 + 0.06, 0.015, h + 0.27, -d / 2 + 0.24), "steel"))
    return p


def build_toilet(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0.38, -d / 2, w / 2, h, -d / 2 + 0.18), "main"), (frustum((0, 0.06), 0.12, 0.19, 0.0, 0.38, 18), "main"),
            (cylinder((0, 0.06), 0.2, 0.38, 0.41, 21), "main"), (B(-0.12, 0.0, -d / 2 + 0.1, 0.12, 0.38, -0.05), "main"),
            (B(-0.03, h, -d / 2 + 0.06, 0.03, h + 0.02, -d / 2 + 0.12), "steel")]


def build_bathtub(w, d, h, rng) -> List[Part]:
    t = 0.08
    return [(B(-w / 2, 0, -d / 2, w / 2, 0.12, d / 2), "main"), (B(-w / 2, 0.12, -d / 2, w / 2, h, -d / 2 + t), "main"),
            (B(-w / 2, 0.12, d / 2 - t, w / 2, h, d / 2), "main"), (B(-w / 2, 0.12, -d / 2 + t, -w / 2 + t, h, d / 2 - t), "main"),
            (B(w / 2 - t, 0.12, -d / 2 + t, w / 2, h, d / 2 - t), "main"), (B(-w / 2 + t, 0.12, -d / 2 + t, w / 2 - t, 0.3, d / 2 - t), "water"),
            (cylinder((w / 2 - 0.2, -d / 2 + 0.04), 0.02, h, h + 0.2, 12), "steel")]


def build_shower(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0, -d / 2, w / 2, 0.08, d / 2), "white"), (B(-w / 2, 0.08, -d / 2, w / 2, h, -d / 2 + 0.04), "main"),
            (B(-w / 2, 0.08, -d / 2 + 0.04, -w / 2 + 0.03, h, d / 2), "glass"), (B(w / 2 - 0.03, 0.08, -d / 2 + 0.04, w / 2, h, d / 2), "glass"),
            (cylinder((0, -d / 2 + 0.06), 0.015, 0.9, h - 0.1, 9), "steel"), (cylinder((0, -d / 2 + 0.16), 0.08, h - 0.12, h - 0.09, 15), "steel")]


def build_plant(w, d, h, rng) -> List[Part]:
    r = min(w, d) / 2
    ph = min(0.35, h * 0.3)
    p = [(frustum((0, 0), r * 0.6, r * 0.8, 0, ph, 15), "terracotta"), (cylinder((0, 0), r * 0.72, ph, ph + 0.01, 15), "soil"),
         (cylinder((0, 0), 0.02, ph, h * 0.75, 9), "dark wood")]
    n = int(rng.integers(2, 4))
    for i in range(n):
        a = 2 * np.pi * i / n + float(rng.uniform(0, 1))
        rr = r * 0.85
        cy = h * float(rng.uniform(0.6, 0.78))
        p.append((sphere((0.3 * rr * np.cos(a), cy, 0.3 * rr * np.sin(a)), (rr * 0.7, (h - ph) * 0.25, rr * 0.7), 5, 8), "main"))
    return p


def build_floor_lamp(w, d, h, rng) -> List[Part]:
    r = min(w, d) / 2
    return [(cylinder((0, 0), r * 0.7, 0, 0.03, 18), "metal"), (cylinder((0, 0), 0.015, 0.03, h - 0.25, 9), "metal"),
            (sphere((0, h - 0.22, 0), 0.05, 6, 9), "bulb"), (frustum((0, 0), r, r * 0.65, h - 0.32, h, 18), "main")]


def build_table_lamp(w, d, h, rng) -> List[Part]:
    r = min(w, d) / 2
    return [(sphere((0, h * 0.25, 0), (r * 0.55, h * 0.25, r * 0.55), 7, 12), "main"), (cylinder((0, 0), 0.01, h * 0.45, h * 0.62, 9), "metal"),
            (frustum((0, 0), r, r * 0.65, h * 0.55, h, 18), "linen")]


def build_vase(w, d, h, rng) -> List[Part]:
    r = min(w, d) / 2
    p = [(frustum((0, 0), r * 0.6, r, 0, h * 0.6, 18), "main"), (frustum((0, 0), r, r * 0.45, h * 0.6, h * 0.8, 18), "main"),
         (cylinder((0, 0), r * 0.45, h * 0.8, h * 0.85, 18), "main")]
    for i in range(3):
        a = 2 * np.pi * i / 3
        p.append((sphere((0.5 * r * np.cos(a), h * 0.93, 0.5 * r * np.sin(a)), (r * 0.45, h * 0.07, r * 0.45), 4, 6), "leaf"))
    return p


def build_rug(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0, -d / 2, w / 2, h, d / 2), "main")]


def build_painting(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0, -d / 2, w / 2, h, d / 2 - 0.005), "dark wood"), (fit_uv(B(-w / 2 + 0.04, 0.04, d / 2 - 0.005, w / 2 - 0.04, h - 0.04, d / 2)), "main")]


def build_mirror(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0, -d / 2, w / 2, h, d / 2 - 0.005), "main"), (B(-w / 2 + 0.03, 0.03, d / 2 - 0.005, w / 2 - 0.03, h - 0.03, d / 2), "mirror")]


def build_clock(w, d, h, rng) -> List[Part]:
    r = min(w, h) / 2

    def disc(rad, z0, z1):
        v, f, uv = cylinder((0, 0), rad, z0, z1, 24)
        return rotate_x_quarter(v, (0, 0, 0)) + np.array([0, r, 0]), f, uv
    return [(disc(r, -d / 2, d / 2 - 0.005), "main"), (disc(r * 0.85, d / 2 - 0.005, d / 2), "white"),
            (B(-0.006, r, d / 2, 0.006, r + r * 0.6, d / 2 + 0.004), "dark"), (B(0, r - 0.006, d / 2, r * 0.45, r + 0.006, d / 2 + 0.004), "dark")]


def build_window(w, d, h, rng) -> List[Part]:
    f = 0.06
    p = [(B(-w / 2, 0, -d / 2, w / 2, f, d / 2), "main"), (B(-w / 2, h - f, -d / 2, w / 2, h, d / 2), "main"),
         (B(-w / 2, f, -d / 2, -w / 2 + f, h - f, d / 2), "main"), (B(w / 2 - f, f, -d / 2, w / 2, h - f, d / 2), "main"),
         (fit_uv(B(-w / 2 + f, f, -d / 2, w / 2 - f, h - f, -d / 2 + 0.01)), "sky"),
         (B(-w / 2 - 0.04, -0.03, -d / 2, w / 2 + 0.04, 0.0, d / 2 + 0.05), "main")]
    if w > 1.1:  # a mullion splits wide windows
        p.append((B(-0.025, f, -d / 2 + 0.01, 0.025, h - f, d / 2 - 0.01), "main"))
    p.append((B(-w / 2 + f, h * 0.55, -d / 2 + 0.01, w / 2 - f, h * 0.55 + 0.04, d / 2 - 0.01), "main"))
    return p


def build_ceiling_lamp(w, d, h, rng) -> List[Part]:
    r = min(w, d) / 2
    return [(cylinder((0, 0), 0.06, h - 0.02, h, 15), "white"), (cylinder((0, 0), 0.008, h * 0.35, h - 0.02, 9), "dark"),
            (frustum((0, 0), r, r * 0.35, 0.0, h * 0.35, 21), "main"), (sphere((0, 0.04, 0), 0.06, 6, 12), "bulb")]


def build_washing_machine(w, d, h, rng) -> List[Part]:
    def disc(rad, cy, z0, z1, slot):
        v, f, uv = cylinder((0, 0), rad, z0, z1, 24)
        return rotate_x_quarter(v, (0, 0, 0)) + np.array([0, cy, 0]), f, uv
    cy = h * 0.45
    return [(B(-w / 2, 0, -d / 2, w / 2, h, d / 2 - 0.01), "main"), (disc(w * 0.32, cy, d / 2 - 0.01, d / 2 + 0.02, "metal"), "metal"),
            (disc(w * 0.25, cy, d / 2 + 0.02, d / 2 + 0.03, "screen"), "screen"),
            (B(-w / 2 + 0.03, h - 0.12, d / 2 - 0.01, w / 2 - 0.03, h - 0.03, d / 2), "light panel")]


def build_nightstand(w, d, h, rng) -> List[Part]:
    p = [(B(-w / 2, 0.05, -d / 2, w / 2, h, d / 2 - 0.02), "main")] + [(m, "main") for m in _legs(w, d - 0.02, 0.05, 0.04, 0.01)]
    for i in range(2):
        y0 = 0.08 + i * (h - 0.1) / 2
        p.append((B(-w / 2 + 0.02, y0, d / 2 - 0.02, w / 2 - 0.02, y0 + (h - 0.1) / 2 - 0.03, d / 2), "main"))
        p.append((B(-0.03, y0 + (h - 0.1) / 4 - 0.01, d / 2, 0.03, y0 + (h - 0.1) / 4 + 0.01, d / 2 + 0.02), "metal"))
    return p


def build_dresser(w, d, h, rng) -> List[Part]:
    p = [(B(-w / 2, 0.06, -d / 2, w / 2, h, d / 2 - 0.02), "main")] + [(m, "main") for m in _legs(w, d - 0.02, 0.06, 0.05, 0.01)]
    rows, cols = 3, 2 if w > 0.9 else 1
    for r in range(rows):
        for c in range(cols):
            x0 = -w / 2 + 0.02 + c * (w - 0.04) / cols
            y0 = 0.09 + r * (h - 0.12) / rows
            x1, y1 = x0 + (w - 0.04) / cols - 0.02, y0 + (h - 0.12) / rows - 0.03
            p.append((B(x0, y0, d / 2 - 0.02, x1, y1, d / 2), "main"))
            p.append((B((x0 + x1) / 2 - 0.05, (y0 + y1) / 2 - 0.01, d / 2, (x0 + x1) / 2 + 0.05, (y0 + y1) / 2 + 0.01, d / 2 + 0.02), "metal"))
    return p


def build_coffee_table(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, h - 0.05, -d / 2, w / 2, h, d / 2), "main"), (B(-w / 2 + 0.05, 0.1, -d / 2 + 0.05, w / 2 - 0.05, 0.13, d / 2 - 0.05), "main")] + \
        [(m, "main") for m in _legs(w, d, h - 0.05, 0.05)]


def build_counter(w, d, h, rng) -> List[Part]:
    p = [(B(-w / 2, 0.1, -d / 2, w / 2, h - 0.04, d / 2 - 0.04), "main"), (B(-w / 2 + 0.02, 0, -d / 2, w / 2 - 0.02, 0.1, d / 2 - 0.08), "dark"),
         (B(-w / 2, h - 0.04, -d / 2, w / 2, h, d / 2), "marble")]
    return p + _doors(w, h - 0.08, d - 0.08, 0.12, max(1, round(w / 0.5)), "main")


def build_microwave(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0, -d / 2, w / 2, h, d / 2 - 0.01), "main"), (B(-w / 2 + 0.03, 0.03, d / 2 - 0.01, w / 2 - 0.14, h - 0.03, d / 2), "screen"),
            (B(w / 2 - 0.12, 0.03, d / 2 - 0.01, w / 2 - 0.03, h - 0.03, d / 2), "dark")]


def build_towel_rack(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, h - 0.06, -d / 2, -w / 2 + 0.03, h, d / 2), "steel"), (B(w / 2 - 0.03, h - 0.06, -d / 2, w / 2, h, d / 2), "steel"),
            (B(-w / 2 + 0.03, h - 0.04, d / 2 - 0.03, w / 2 - 0.03, h - 0.02, d / 2 - 0.01), "steel"),
            (B(-w / 2 + 0.08, 0.0, d / 2 - 0.045, w / 2 - 0.08, h - 0.02, d / 2 - 0.005), "main")]


def build_shoe_rack(w, d, h, rng) -> List[Part]:
    p = [(B(-w / 2, 0, -d / 2, -w / 2 + 0.03, h, d / 2), "main"), (B(w / 2 - 0.03, 0, -d / 2, w / 2, h, d / 2), "main")]
    for i in range(3):
        y = 0.04 + i * (h - 0.06) / 2
        p.append((B(-w / 2 + 0.03, y, -d / 2, w / 2 - 0.03, y + 0.02, d / 2), "main"))
        if i < 2:
            x = -w / 2 + 0.06
            while x < w / 2 - 0.15:
                p.append((B(x, y + 0.02, -d / 2 + 0.04, x + 0.09, y + 0.1, d / 2 - 0.02), "dark"))
                x += 0.13
    return p


def build_piano(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0, -d / 2, w / 2, h, -d / 2 + 0.3), "main"), (B(-w / 2, 0.65, -d / 2 + 0.3, w / 2, 0.72, d / 2 - 0.05), "main"),
            (B(-w / 2 + 0.06, 0.72, -d / 2 + 0.3, w / 2 - 0.06, 0.74, d / 2 - 0.08), "white"),
            (B(-w / 2 + 0.06, 0.74, -d / 2 + 0.3, w / 2 - 0.06, 0.75, -d / 2 + 0.38), "dark"),
            (B(-w / 2, 0, -d / 2 + 0.3, -w / 2 + 0.05, 0.65, d / 2), "main"), (B(w / 2 - 0.05, 0, -d / 2 + 0.3, w / 2, 0.65, d / 2), "main")]


def build_fireplace(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0, -d / 2, -w / 2 + 0.3, h - 0.08, d / 2 - 0.02), "brick"), (B(w / 2 - 0.3, 0, -d / 2, w / 2, h - 0.08, d / 2 - 0.02), "brick"),
            (B(-w / 2 + 0.3, h * 0.6, -d / 2, w / 2 - 0.3, h - 0.08, d / 2 - 0.02), "brick"), (B(-w / 2 + 0.3, 0, -d / 2, w / 2 - 0.3, h * 0.6, -d / 2 + 0.1), "screen"),
            (B(-w / 2 + 0.3, 0, -d / 2 + 0.1, w / 2 - 0.3, 0.05, d / 2 - 0.02), "dark"), (B(-w / 2 - 0.0, h - 0.08, -d / 2, w / 2, h, d / 2), "main")]


def build_tv_stand(w, d, h, rng) -> List[Part]:
    return [(B(-w / 2, 0.05, -d / 2, w / 2, h, d / 2 - 0.02), "main")] + _doors(w, h - 0.03, d - 0.04, 0.08, max(2, round(w / 0.5)), "main", "dark") + \
        [(m, "dark") for m in _legs(w, d - 0.02, 0.05, 0.04, 0.02)]


def build_trash_can(w, d, h, rng) -> List[Part]:
    r = min(w, d) / 2
    return [(frustum((0, 0), r * 0.85, r, 0, h - 0.03, 18), "main"), (cylinder((0, 0), r * 1.03, h - 0.03, h, 18), "dark")]


def build_laundry_basket(w, d, h, rng) -> List[Part]:
    r = min(w, d) / 2
    return [(frustum((0, 0), r * 0.85, r, 0, h, 18), "main"), (cylinder((0, 0), r * 0.9, h - 0.1, h - 0.02, 18), "linen")]


def build_coat_rack(w, d, h, rng) -> List[Part]:
    r = min(w, d) / 2
    p = [(cylinder((0, 0), r * 0.8, 0, 0.04, 18), "main"), (cylinder((0, 0), 0.02, 0.04, h, 12), "main"), (sphere((0, h, 0), 0.035, 6, 9), "main")]
    for a in np.linspace(0, 2 * np.pi, 4, endpoint=False):
        x, z = 0.1 * np.cos(a), 0.1 * np.sin(a)
        p.append((B(min(0, x) - 0.01, h - 0.2, min(0, z) - 0.01, max(0, x) + 0.01, h - 0.17, max(0, z) + 0.01), "main"))
    p.append((sphere((0.08, h - 0.45, 0.0), (0.1, 0.25, 0.1), 6, 9), "coat"))
    return p


def build_toy_box(w, d, h, rng) -> List[Part]:
    p = [(B(-w / 2, 0, -d / 2, w / 2, h - 0.05, d / 2), "main"), (B(-w / 2 - 0.01, h - 0.05, -d / 2 - 0.01, w / 2 + 0.01, h, d / 2 + 0.01), "book red")]
    p.append((sphere((-w / 4, h + 0.09, 0), 0.09, 6, 12), "book blue"))
    p.append((B(w / 8, h, -0.08, w / 8 + 0.16, h + 0.16, 0.08), "book green"))
    return p


def build_bean_bag(w, d, h, rng) -> List[Part]:
    return [(sphere((0, h / 2, 0), (w / 2, h / 2, d / 2), 8, 18), "main")]


def build_dryer(w, d, h, rng) -> List[Part]:
    return build_washing_machine(w, d, h, rng)

