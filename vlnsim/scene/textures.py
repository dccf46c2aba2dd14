"""Procedural, tileable surface textures generated with numpy.

Every generator takes a ``numpy.random.Generator`` and an RGB base colour in [0, 1]
and returns a seamlessly tiling ``(S, S, 3) uint8`` image; the physical size one tile
covers is ``TEXTURE_REPEAT_M[kind]`` metres (UVs are world metres divided by it).
``TextureCache`` memoises textures per (kind, colour) within one house so that
generation stays fast and deterministic.
"""
from __future__ import annotations

import zlib
from typing import Callable, Dict, Sequence, Tuple

import numpy as np

Color = Tuple[float, float, float]

TEXTURE_SIZE = 64
# metres covered by one repeat of each kind (so planks/tiles keep a physical size)
TEXTURE_REPEAT_M: Dict[str, float] = {
    "wood": 1.0, "tiles": 0.9, "carpet": 1.0, "plaster": 2.0, "fabric": 0.25, "marble": 1.0, "brick": 1.0,
    "art": 1.0, "parquet": 0.8, "grain": 1.0, "sky": 1.0,
}


def periodic_noise(rng: np.random.Generator, size: int, cells: int | Tuple[int, int]) -> np.ndarray:
    """Tileable value noise in [0, 1]: a random lattice, smoothly interpolated with wrap."""
    cy, cx = (cells, cells) if np.isscalar(cells) else cells
    lat = rng.random((cy, cx))
    y = np.arange(size) * cy / size
    x = np.arange(size) * cx / size
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = y - y0, x - x0
    fy, fx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)  # smoothstep
    y1, x1 = (y0 + 1) % cy, (x0 + 1) % cx
    a = lat[y0][:, x0] * (1 - fx) + lat[y0][:, x1] * fx
    b = lat[y1][:, x0] * (1 - fx) + lat[y1][:, x1] * fx
    return a * (1 - fy)[:, None] + b * fy[:, None]


def fractal_noise(rng: np.random.Generator, size: int, base_cells: int = 4, octaves: int = 3) -> np.ndarray:
    """Sum of ``octaves`` periodic noises at doubling frequency, normalised to [0, 1]."""
    out = np.zeros((size, size))
    amp, tot = 1.0, 0.0
    for o in range(octaves):
        cells = min(base_cells * 2 ** o, size)
        out += amp * periodic_noise(rng, size, cells)
        tot += amp
        amp *= 0.5
    return out / tot


def _finish(color: Sequence[float], shade: np.ndarray) -> np.ndarray:
    """Multiply the base colour by a per-pixel shade (H, W) or (H, W, 3); to uint8."""
    c = np.asarray(color, dtype=np.float64)
    img = shade[..., None] * c if shade.ndim == 2 else shade * c
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def wood(rng: np.random.Generator, color: Color, size: int = TEXTURE_SIZE) -> np.ndarray:
    """Floor planks along u: per-plank tone, wavy grain, dark seams."""
    planks = int(rng.integers(5, 9))
    v = np.arange(size)[:, None] * planks / size
    row = np.floor(v).astype(int) % planks
    tone = 0.8 + 0.3 * rng.random(planks)
    grain_n = periodic_noise(rng, size, (planks * 2, 3))
    u = np.arange(size)[None, :] / size
    grain = 0.5 + 0.5 * np.sin(2 * np.pi * (v * 3.0 + 6.0 * grain_n + 0.3 * np.sin(2 * np.pi * u)))
    shade = tone[row] * (0.85 + 0.15 * grain)
    # plank ends staggered per row, seams darker
    ends = rng.random(planks)
    end_col = ((u - ends[row]) % 1.0) < (1.0 / size)
    seam = (v % 1.0) < (1.2 * planks / size)
    shade = np.where(seam | end_col, shade * 0.55, shade)
    return _finish(color, shade)


def grain(rng: np.random.Generator, color: Color, size: int = TEXTURE_SIZE) -> np.ndarray:
    """Furniture wood: continuous grain lines along u, no plank seams."""
    turb = periodic_noise(rng, size, (8, 2))
    v = np.arange(size)[:, None] / size
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * (14 * v + 2.5 * turb))
    shade = 0.82 + 0.14 * rings ** 3 + 0.06 * periodic_noise(rng, size, 16)
    return _finish(color, shade)


def sky(rng: np.random.Generator, color: Color, size: int = TEXTURE_SIZE) -> np.ndarray:
    """A window's view: sky brightening towards the horizon over a band of greenery."""
    v = np.arange(size)[:, None] / size  # row 0 = top
    sky_c = np.asarray(color)[None, None, :] * (0.8 + 0.35 * v[..., None])
    clouds = fractal_noise(rng, size, 4, 3)[..., None]
    sky_c = sky_c * (1 - 0.35 * (clouds > 0.6)) + 0.35 * (clouds > 0.6)
    horizon = 0.62 + 0.08 * periodic_noise(rng, size, (1, 6))[0][None, :]
    green = np.array([0.25, 0.45, 0.22]) * (0.8 + 0.3 * fractal_noise(rng, size, 8, 2))[..., None]
    img = np.where((v > horizon)[..., None], green, sky_c)
    return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)


def tiles(rng: np.random.Generator, color: Color, size: int = TEXTURE_SIZE, grout: Color = (0.85, 0.85, 0.82)) -> np.ndarray:
    """Square tiles with a grout grid and slight per-tile tone variation."""
    n = int(rng.choice([3, 4]))
    t = np.arange(size) * n / size
    iy, ix = np.floor(t).astype(int), np.floor(t).astype(int)
    tone = 0.88 + 0.17 * rng.random((n, n))
    shade = tone[iy[:, None], ix[None, :]] * (0.96 + 0.04 * periodic_noise(rng, size, 8))
    # one grout texel at the start of every tile (so the seam of the repeat is one too)
    line = (t % 1.0) < (n / size) * 0.999
    img = _finish(color, shade)
    gc = np.asarray(_finish(grout, np.ones((1, 1))))[0, 0]
    img[line, :] = gc
    img[:, line] = gc
    return img


def carpet(rng: np.random.Generator, color: Color, size: int = TEXTURE_SIZE) -> np.ndarray:
    """Soft mottled pile: fractal noise plus per-texel fibre speckle."""
    shade = 0.8 + 0.25 * fractal_noise(rng, size, 4, 3) + 0.08 * (rng.random((size, size)) - 0.5)
    return _finish(color, shade)


def plaster(rng: np.random.Generator, color: Color, size: int = TEXTURE_SIZE) -> np.ndarray:
    """Painted plaster: a subtle low-frequency variation."""
    shade = 0.93 + 0.07 * fractal_noise(rng, size, 3, 3) + 0.015 * (rng.random((size, size)) - 0.5)
    return _finish(color, shade)


def fabric(rng: np.random.Generator, color: Color, size: int = TEXTURE_SIZE) -> np.ndarray:
    """Woven cloth: alternating warp/weft threads."""
    k = 16
    i = np.arange(size) * k / size
    warp = 0.5 + 0.5 * np.sin(2 * np.pi * i)[None, :]
    weft = 0.5 + 0.5 * np.sin(2 * np.pi * i)[:, None]
    over = ((np.floor(i)[:, None] + np.floor(i)[None, :]) % 2) == 0
    shade = 0.8 + 0.2 * np.where(over, warp, weft) + 0.05 * (periodic_noise(rng, size, 8) - 0.5)
    return _finish(color, shade)


def marble(rng: np.random.Generator, color: Color, size: int = TEXTURE_SIZE) -> np.ndarray:
    """Marble: thin dark veins from a turbulent sine."""
    turb = fractal_noise(rng, size, 4, 4)
    x = np.arange(size)[None, :] / size
    y = np.arange(size)[:, None] / size
    veins = np.abs(np.sin(2 * np.pi * (x + y + 2.5 * turb)))
    shade = 0.75 + 0.25 * veins ** 0.35
    return _finish(color, shade)


def brick(rng: np.random.Generator, color: Color, size: int = TEXTURE_SIZE) -> np.ndarray:
    """Running-bond brick courses with light mortar."""
    rows, cols = 8, 4
    v = np.arange(size)[:, None] * rows / size
    r = np.floor(v).astype(int)
    u = np.arange(size)[None, :] * cols / size + 0.5 * (r % 2)
    c = np.floor(u).astype(int) % cols
    tone = 0.75 + 0.35 * rng.random((rows, cols))
    shade = tone[r % rows, c] * (0.9 + 0.1 * periodic_noise(rng, size, 16))
    mortar = ((v % 1.0) < 0.12) | ((u % 1.0) < 0.06)
    img = _finish(color, shade)
    img[np.broadcast_to(mortar, img.shape[:2])] = (200, 195, 185)
    return img


def parquet(rng: np.random.Generator, color: Color, size: int = TEXTURE_SIZE) -> np.ndarray:
    """Herring-free basket-weave parquet: 2x2 blocks of alternating strip direction."""
    n, strips = 4, 4
    t = np.arange(size) * n / size
    by, bx = np.floor(t)[:, None].astype(int), np.floor(t)[None, :].astype(int)
    fy, fx = (t % 1.0)[:, None], (t % 1.0)[None, :]
    horiz = ((by + bx) % 2) == 0
    strip = np.where(horiz, np.floor(fy * strips), np.floor(fx * strips)).astype(int)
    tone = 0.8 + 0.3 * rng.random((n, n, strips))
    shade = tone[by % n, bx % n, strip]
    grain = periodic_noise(rng, size, 16)
    shade = shade * (0.9 + 0.1 * grain)
    edge = np.where(horiz, (fy * strips) % 1.0 < 0.1, (fx * strips) % 1.0 < 0.1)
    return _finish(color, np.where(edge, shade * 0.7, shade))


def art(rng: np.random.Generator, color: Color, size: int = TEXTURE_SIZE) -> np.ndarray:
    """A painting's canvas: soft colour fields around the base colour."""
    palette = np.clip(np.asarray(color)[None, :] * (0.5 + rng.random((3, 3))), 0, 1)
    w = np.stack([fractal_noise(rng, size, 2, 3) for _ in range(3)], -1) ** 3
    w = w / w.sum(-1, keepdims=True)
    img = np.einsum("hwk,kc->hwc", w, palette)
    return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)


GENERATORS: Dict[str, Callable[..., np.ndarray]] = {
    "wood": wood, "tiles": tiles, "carpet": carpet, "plaster": plaster, "fabric": fabric,
    "marble": marble, "brick": brick, "parquet": parquet, "art": art, "grain": grain, "sky": sky,
}


class TextureCache:
    """Textures of one house, generated once per (kind, colour, variant) from the house seed."""

    def __init__(self, seed: int, size: int = TEXTURE_SIZE):
        self.seed = int(seed)
        self.size = int(size)
        self._cache: Dict[tuple, np.ndarray] = {}

    def get(self, kind: str, color: Sequence[float], variant: int = 0) -> np.ndarray:
        """The texture of ``kind`` tinted ``color``; equal arguments give the same array."""
        key = (kind, tuple(round(float(c), 4) for c in color), int(variant))
        tex = self._cache.get(key)
        if tex is None:
            # a stable per-key stream: the same key gives the same image regardless of call order
            rng = np.random.default_rng([self.seed, zlib.crc32(repr(key).encode())])
            tex = GENERATORS[kind](rng, key[1], self.size)
            tex.setflags(write=False)
            self._cache[key] = tex
        return tex

    @property
    def nbytes(self) -> int:
        return int(sum(t.nbytes for t in self._cache.values()))
