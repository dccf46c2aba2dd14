"""Per-scene shading tables and the vectorised shading of ray hits.

Everything that does not depend on the pose is computed once per scene, so that a
frame's shading is a handful of gathers and element-wise operations:

* all material textures are packed into ONE texel atlas (``uint32`` RGBX per texel,
  pre-multiplied by the material's base colour), an untextured material owning a single
  texel of its base colour, so the albedo lookup is a single fancy index; textures are
  nearest-resampled up to power-of-two sides so the repeat wrap is a bit mask;
* each triangle stores the affine map from its barycentrics (b1, b2) to texel
  coordinates (x, y) in its own texture, plus the texture's size and atlas offset;
* face normals and object ids per triangle.

Shading works on slices of ``chunk`` pixels so that the temporaries of a 256x256 frame
stay in cache, and avoids BLAS for (N, 3) x (3,) products (OpenBLAS would start threads
that compete with Embree for the cores).

Every per-face table has one extra *sentinel* row at the end: Embree reports a miss
as primitive -1, and numpy's index -1 is that last row, so misses need no masking for
gathers (the sentinel's object id is -1, its normal zero).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from ..errors import ConfigError
from ..scene.model import Scene

TEXTURE_FILTERS = ("nearest", "bilinear")


@dataclass(frozen=True)
class ShadingConfig:
    """How hits are lit and textured.

    Attributes:
        texture_filter: "nearest" or "bilinear" texel sampling (wrap mode: repeat).
        ambient: light reaching every surface, in [0, 1].
        diffuse: Lambert weight; ``ambient + diffuse`` should be about 1.
        light: "headlight" (light along each view ray, |n.l| so back faces are lit too,
            which keeps indoor scenes readable from any pose) or a fixed world direction
            ``(x, y, z)`` (cheaper: the shading becomes a per-triangle constant).
        background: RGB (0..255) of pixels where no triangle is hit.
    """

    texture_filter: str = "nearest"
    ambient: float = 0.45
    diffuse: float = 0.55
    light: object = "headlight"
    background: Tuple[int, int, int] = (0, 0, 0)

    def __post_init__(self) -> None:
        if self.texture_filter not in TEXTURE_FILTERS:
            raise ConfigError(f"texture_filter={self.texture_filter!r}; expected one of {TEXTURE_FILTERS}")
        for name in ("ambient", "diffuse"):
            val = getattr(self, name)
            if not (isinstance(val, (int, float)) and 0.0 <= float(val) <= 1.0):
                raise ConfigError(f"ShadingConfig.{name}={val!r}; expected a number in [0, 1]")
        if isinstance(self.light, str):
            if self.light != "headlight":
                raise ConfigError(f"ShadingConfig.light={self.light!r}; expected 'headlight' or a direction (x, y, z)")
        else:
            d = np.asarray(self.light, dtype=np.float64)
            if d.shape != (3,) or not np.all(np.isfinite(d)) or np.linalg.norm(d) == 0:
                raise ConfigError(f"ShadingConfig.light={self.light!r}; expected 'headlight' or a non-zero direction (x, y, z)")
        bg = np.asarray(self.background)
        if bg.shape != (3,) or np.any(bg < 0) or np.any(bg > 255):
            raise ConfigError(f"ShadingConfig.background={self.background!r}; expected 3 integers in 0..255")


def _pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 -> (N,) uint32 little-endian RGBX (so ``.view(uint8)`` gives R, G, B, X)."""
    rgb = np.asarray(rgb, dtype=np.uint32)
    return rgb[:, 0] | (rgb[:, 1] << 8) | (rgb[:, 2] << 16)


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n - 1).bit_length())


def _pow2_texture(tex: np.ndarray) -> np.ndarray:
    """Nearest-resample a texture up to power-of-two sides, so wrapping is a bit mask."""
    h, w = tex.shape[:2]
    H, W = _next_pow2(h), _next_pow2(w)
    if (H, W) == (h, w):
        return tex
    rows = ((np.arange(H) + 0.5) * h / H).astype(np.int64)
    cols = ((np.arange(W) + 0.5) * w / W).astype(np.int64)
    return tex[rows][:, cols]


def pack_rgb_rows(packed: np.ndarray) -> np.ndarray:
    """(N,) uint32 RGBX -> contiguous (N, 3) uint8."""
    src = packed.view(np.uint8).reshape(-1, 4)
    out = np.empty((len(src), 3), dtype=np.uint8)
    # three single-channel copies are ~5x faster than one strided (N, 3) copy
    out[:, 0] = src[:, 0]
    out[:, 1] = src[:, 1]
    out[:, 2] = src[:, 2]
    return out


def _scale_packed(tex: np.ndarray, s256: np.ndarray) -> np.ndarray:
    """Multiply packed RGBX texels by ``s256 / 256`` (uint32, <= 256), two lanes at a time."""
    rb = tex & np.uint32(0x00FF00FF)
    rb *= s256
    g = tex & np.uint32(0x0000FF00)
    g *= s256
    rb >>= 8
    rb &= np.uint32(0x00FF00FF)
    g >>= 8
    g &= np.uint32(0x0000FF00)
    rb |= g
    return rb


def _rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product of two (N, 3) arrays."""
    s = a[:, 0] * b[:, 0]
    s += a[:, 1] * b[:, 1]
    s += a[:, 2] * b[:, 2]
    return s


class ShadingTables:
    """Pose-independent lookup tables of one scene (see the module docstring)."""

    #: pixels shaded per slice (bounds the working set of the temporaries)
    chunk = 16384

    def __init__(self, scene: Scene, config: ShadingConfig = ShadingConfig()):
        self.scene = scene
        self.config = config
        v = scene.vertices
        f = scene.faces
        nf = len(f)

        # Atlas: one block of texels per material, power-of-two sides, base colour folded in.
        blocks, sizes, offsets = [], [], []
        offset = 0
        for m in scene.materials:
            base = np.clip(np.asarray(m.base_color, dtype=np.float32), 0.0, 1.0)
            if m.texture is not None:
                tex = np.asarray(m.texture)
                if tex.ndim == 2:
                    tex = np.repeat(tex[:, :, None], 3, axis=2)
                tex = _pow2_texture(tex[:, :, :3])
                h, w = tex.shape[:2]
                texels = np.rint(tex.reshape(-1, 3).astype(np.float32) * base).astype(np.uint8)
            else:
                h = w = 1
                texels = np.rint(base * 255.0).astype(np.uint8).reshape(1, 3)
            blocks.append(_pack_rgb(texels))
            sizes.append((w, h))
            offsets.append(offset)
            offset += len(texels)
        self.atlas = np.ascontiguousarray(np.concatenate(blocks))
        mat_w = np.array([s[0] for s in sizes], dtype=np.int64)
        mat_h = np.array([s[1] for s in sizes], dtype=np.int64)
        mat_off = np.array(offsets, dtype=np.int64)
        mat_textured = np.array([m.texture is not None for m in scene.materials])
        if offset >= 2**31:
            raise ConfigError(f"scene {scene.name!r}: textures hold {offset} texels; at most 2**31 are supported")

        fm = scene.face_material
        W = mat_w[fm].astype(np.float64)
        H = mat_h[fm].astype(np.float64)
        uv = scene.uvs[f].astype(np.float64)  # (F, 3, 2)
        tx = uv[:, :, 0] * W[:, None]  # texel x of the three corners
        ty = (1.0 - uv[:, :, 1]) * H[:, None]  # texel y (row 0 = v of 1)
        # Shift each face by whole texture repeats so its texel coords are >= 0: then
        # truncation is floor, and the wrap is a bit mask (sides are powers of two).
        tx -= (np.floor(tx.min(axis=1) / W) * W)[:, None]
        ty -= (np.floor(ty.min(axis=1) / H) * H)[:, None]
        flat = ~mat_textured[fm]
        tx[flat] = 0.0
        ty[flat] = 0.0
        # record: x = r0 + r1*b1 + r2*b2, y = r3 + r4*b1 + r5*b2, texel offset, masks
        rec = np.zeros((nf + 1, 8), dtype=np.float32)
        rec[:nf, 0] = tx[:, 0]
        rec[:nf, 1] = tx[:, 1] - tx[:, 0]
        rec[:nf, 2] = tx[:, 2] - tx[:, 0]
        rec[:nf, 3] = ty[:, 0]
        rec[:nf, 4] = ty[:, 1] - ty[:, 0]
        rec[:nf, 5] = ty[:, 2] - ty[:, 0]
        ints = rec[:, 6:8].view(np.int32)
        ints[:nf, 0] = mat_off[fm]
        ints[:nf, 1] = (mat_w[fm] - 1) | ((mat_h[fm] - 1) << 16)
        self.face_rec = rec
        self.face_tex_off = np.ascontiguousarray(ints[:, 0])
        self.all_flat = not bool(mat_textured.any())
        # One texture size for every textured material (procedural houses): the wrap masks
        # and the row stride are then constants instead of per-pixel gathers.
        sizes_tex = {(int(mat_w[k]), int(mat_h[k])) for k in np.flatnonzero(mat_textured)}
        self.uniform_size: Optional[Tuple[int, int]] = sizes_tex.pop() if len(sizes_tex) == 1 else None

        # Vertex colours replace the base-colour texel of untextured materials.
        self.face_vc: Optional[np.ndarray] = None
        if scene.vertex_colors is not None and flat.any():
            self.face_vc = np.zeros(nf + 1, dtype=bool)
            self.face_vc[:nf] = flat
            self.vc_base = np.array(
                [np.clip(np.asarray(m.base_color, dtype=np.float32), 0, 1) for m in scene.materials], dtype=np.float32
            )

        p0, p1, p2 = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
        n = np.cross(p1 - p0, p2 - p0).astype(np.float32)
        ln = np.linalg.norm(n, axis=1, keepdims=True)
        n = np.divide(n, ln, out=np.zeros_like(n), where=ln > 0)
        self.face_normal = np.zeros((nf + 1, 3), dtype=np.float32)
        self.face_normal[:nf] = n
        # Embree's geometric normal Ng is the unnormalised cross product: keep 1/|Ng|.
        self.face_inv_ng = np.zeros(nf + 1, dtype=np.float32)
        self.face_inv_ng[:nf] = np.divide(1.0, ln[:, 0], out=np.zeros(nf, np.float32), where=ln[:, 0] > 0)

        self.face_object = np.full(nf + 1, -1, dtype=np.int32)
        self.face_object[:nf] = scene.face_object

        cfg = config
        self.headlight = isinstance(cfg.light, str)
        self._clip_shade = cfg.ambient + cfg.diffuse > 1.0
        if not self.headlight:
            ldir = np.asarray(cfg.light, dtype=np.float32)
            ldir = ldir / np.linalg.norm(ldir)
            shade = np.minimum(cfg.ambient + cfg.diffuse * np.abs(self.face_normal @ ldir), 1.0)
            self.face_shade256 = np.rint(shade * 256).astype(np.uint32)
        self.background = np.asarray(cfg.background, dtype=np.uint8)
        self.background_packed = _pack_rgb(self.background.reshape(1, 3))[0]

    # ------------------------------------------------------------------ lookups
    @property
    def nbytes(self) -> int:
        """Memory held by the tables, in bytes."""
        arrs = [self.atlas, self.face_rec, self.face_tex_off, self.face_normal, self.face_inv_ng, self.face_object]
        if self.face_vc is not None:
            arrs.append(self.face_vc)
        if not self.headlight:
            arrs.append(self.face_shade256)
        return int(sum(a.nbytes for a in arrs))

    def albedo_packed(self, prim: np.ndarray, b1: np.ndarray, b2: np.ndarray) -> np.ndarray:
        """(N,) uint32 RGBX surface colour at hits ``(prim, b1, b2)``; prim -1 gives junk."""
        if self.all_flat:
            out = np.take(self.atlas, np.take(self.face_tex_off, prim))
        else:
            A = np.take(self.face_rec, prim, axis=0)
            ints = A[:, 6:8].view(np.int32)
            if self.config.texture_filter == "nearest":
                x = A[:, 1] * b1
                x += A[:, 0]
                x += A[:, 2] * b2
                y = A[:, 4] * b1
                y += A[:, 3]
                y += A[:, 5] * b2
                xi = x.astype(np.int32)  # truncation is floor: texel coords are >= 0 per face
                yi = y.astype(np.int32)
                if self.uniform_size is not None:
                    # untextured faces have x = y = 0, so the constant masks are harmless
                    w, h = self.uniform_size
                    xi &= w - 1
                    yi &= h - 1
                    yi <<= w.bit_length() - 1
                else:
                    m = ints[:, 1]
                    wm = m & 0xFFFF
                    xi &= wm
                    yi &= m >> 16
                    wm += 1
                    yi *= wm
                yi += xi
                yi += ints[:, 0]
                out = np.take(self.atlas, yi)
            else:
                out = self._bilinear(A, ints, b1, b2)
        if self.face_vc is not None:
            self._apply_vertex_colors(out, prim, b1, b2)
        return out

    def albedo(self, prim: np.ndarray, b1: np.ndarray, b2: np.ndarray) -> np.ndarray:
        """(N, 3) uint8 surface colour (texture x base colour, or vertex/base colour)."""
        return pack_rgb_rows(self.albedo_packed(prim, b1, b2))

    def _bilinear(self, A: np.ndarray, ints: np.ndarray, b1: np.ndarray, b2: np.ndarray) -> np.ndarray:
        x = A[:, 0] + A[:, 1] * b1 + A[:, 2] * b2 - np.float32(0.5)
        y = A[:, 3] + A[:, 4] * b1 + A[:, 5] * b2 - np.float32(0.5)
        fx = np.floor(x)
        fy = np.floor(y)
        wx = (x - fx)[:, None]
        wy = (y - fy)[:, None]
        m = ints[:, 1]
        wm = m & 0xFFFF
        hm = m >> 16
        w = wm + 1
        off = ints[:, 0]
        x0 = fx.astype(np.int32)
        y0 = fy.astype(np.int32)
        # two's complement & with a power-of-two mask wraps negatives correctly
        x1 = (x0 + 1) & wm
        y1 = (y0 + 1) & hm
        x0 &= wm
        y0 &= hm
        atl = self.atlas

        def tex(yy, xx):
            return np.take(atl, off + yy * w + xx).view(np.uint8).reshape(-1, 4).astype(np.float32)

        top = tex(y0, x0) * (1 - wx) + tex(y0, x1) * wx
        bot = tex(y1, x0) * (1 - wx) + tex(y1, x1) * wx
        rgbx = np.rint(top * (1 - wy) + bot * wy).astype(np.uint8)
        return rgbx.view(np.uint32).reshape(-1)

    def _apply_vertex_colors(self, out: np.ndarray, prim: np.ndarray, b1: np.ndarray, b2: np.ndarray) -> None:
        sel = np.nonzero(np.take(self.face_vc, prim))[0]
        if len(sel) == 0:
            return
        p = prim[sel]
        tri = self.scene.faces[p]
        vc = self.scene.vertex_colors.astype(np.float32)
        w1 = b1[sel][:, None]
        w2 = b2[sel][:, None]
        col = vc[tri[:, 0]] * (1 - w1 - w2) + vc[tri[:, 1]] * w1 + vc[tri[:, 2]] * w2
        col *= self.vc_base[self.scene.face_material[p]]
        out[sel] = _pack_rgb(np.clip(np.rint(col), 0, 255).astype(np.uint8))

    def shade(self, prim: np.ndarray, b1: np.ndarray, b2: np.ndarray, dirs: Optional[np.ndarray] = None,
              inv_len: Optional[np.ndarray] = None, ng: Optional[np.ndarray] = None,
              miss: Optional[np.ndarray] = None) -> np.ndarray:
        """(N, 3) uint8 lit colour at hits; misses get the background colour.

        The headlight needs the ray directions ``dirs`` (N, 3) and their reciprocal
        lengths ``inv_len``; ``ng`` is the backend's unnormalised geometric normal per
        hit if it has one (saves a gather), else the face normal table is used;
        ``miss`` is the indices of rays that hit nothing, if already known.
        """
        n = len(prim)
        step = self.chunk
        if n <= step:
            out = self._shade_packed(prim, b1, b2, dirs, inv_len, ng)
        else:
            # slices small enough that their temporaries stay in the L2 cache
            out = np.empty(n, dtype=np.uint32)
            for a in range(0, n, step):
                z = slice(a, min(n, a + step))
                out[z] = self._shade_packed(prim[z], b1[z], b2[z], None if dirs is None else dirs[z],
                                            None if inv_len is None else inv_len[z], None if ng is None else ng[z])
        if miss is None:
            miss = np.flatnonzero(prim < 0)
        if len(miss):
            out[miss] = self.background_packed
        return pack_rgb_rows(out)

    def _shade_packed(self, prim, b1, b2, dirs, inv_len, ng) -> np.ndarray:
        alb = self.albedo_packed(prim, b1, b2)
        cfg = self.config
        if self.headlight:
            # column-wise dot products: (N, 3) @ (3,) would go through (threaded) BLAS
            if ng is not None:
                s = _rowdot(ng, dirs)
                s *= np.take(self.face_inv_ng, prim)
            else:
                s = _rowdot(np.take(self.face_normal, prim, axis=0), dirs)
            np.abs(s, out=s)
            if inv_len is not None:
                s *= inv_len
            s *= np.float32(cfg.diffuse * 256.0)
            s += np.float32(cfg.ambient * 256.0 + 0.5)
            if self._clip_shade:
                np.minimum(s, np.float32(256.0), out=s)
            s256 = s.astype(np.uint32)
        else:
            s256 = np.take(self.face_shade256, prim)
        return _scale_packed(alb, s256)


# ---------------------------------------------------------------------------- colour maps
# viridis at 0, .25, .5, .75, 1 (near = bright yellow, far = dark blue-purple)
_DEPTH_STOPS = np.array([[253, 231, 37], [94, 201, 98], [33, 145, 140], [59, 82, 139], [68, 1, 84]], dtype=np.float32)


def colorize_depth(depth: np.ndarray, max_depth: Optional[float] = None) -> np.ndarray:
    """(H, W[, 1]) depth -> (H, W, 3) uint8 viridis (near bright, far dark), no hit black.

    The scale runs to ``max_depth`` if given, else to the farthest hit in the image.
    """
    d = np.asarray(depth, dtype=np.float32).reshape(depth.shape[0], depth.shape[1])
    hit = d > 0
    top = float(max_depth) if max_depth else (float(d[hit].max()) if hit.any() else 1.0)
    t = np.clip(d / max(top, 1e-6), 0.0, 1.0) * (len(_DEPTH_STOPS) - 1)
    i = np.minimum(t.astype(np.int64), len(_DEPTH_STOPS) - 2)
    f = (t - i)[..., None]
    rgb = _DEPTH_STOPS[i] * (1 - f) + _DEPTH_STOPS[i + 1] * f
    rgb[~hit] = 0
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def id_colors(ids: np.ndarray) -> np.ndarray:
    """Deterministic distinct-ish RGB for integer ids (golden-ratio hue walk); -1 -> black."""
    ids = np.asarray(ids, dtype=np.int64)
    h = (ids * 0.6180339887) % 1.0
    s = 0.55 + 0.45 * ((ids * 0.37) % 1.0)
    v = 0.65 + 0.35 * ((ids * 0.71) % 1.0)
    i = np.floor(h * 6).astype(np.int64) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    rgb = (np.stack([r, g, b], axis=-1) * 255).astype(np.uint8)
    rgb[ids < 0] = 0
    return rgb


def colorize_semantic(semantic: np.ndarray) -> np.ndarray:
    """(H, W) object ids -> (H, W, 3) uint8 with one colour per id, black for -1."""
    return id_colors(semantic)


def topdown_shade(tables: ShadingTables, prim: np.ndarray, b1: np.ndarray, b2: np.ndarray,
                  light: Sequence[float] = (0.3, 1.0, 0.2)) -> np.ndarray:
    """Lit colour for top-down (orthographic, looking down) hits: light mostly from above."""
    alb = tables.albedo_packed(prim, b1, b2)
    ldir = np.asarray(light, dtype=np.float32)
    ldir /= np.linalg.norm(ldir)
    n = np.take(tables.face_normal, prim, axis=0)
    s256 = np.rint(128.0 + 128.0 * np.abs(n @ ldir)).astype(np.uint32)
    out = _scale_packed(alb, s256)
    out[prim < 0] = tables.background_packed
    return pack_rgb_rows(out)
