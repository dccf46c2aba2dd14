"""The renderer: one ray per pixel, shared by all sensors of one camera, then shading.

``Renderer(scene, backend="embree").render(sensors, position, rotation)`` returns the
observation dict of docs/ARCHITECTURE.md: ``rgb`` (H, W, 3) uint8, ``depth`` (H, W, 1) float32
z-depth in metres (0 = no hit), ``semantic`` (H, W) int32 object ids (-1 = none).
The pose is the AGENT's; each sensor is mounted at its offset and orientation.

Ray-cast backends are chosen by name from ``BACKENDS``; a backend is built from
``(scene, raycaster)`` and has ``cast(origin, dirs) -> (t, prim, b1, b2, ng)``: float32
``t`` (anything on a miss), int32 ``prim`` (-1 on a miss), float32 barycentrics of
vertices 1 and 2, and the unnormalised geometric normal per hit (N, 3) or None.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import ConfigError
from ..geometry import as_position, as_quaternion, quat_to_matrix
from ..scene.model import Scene
from .raycast import RayCaster
from .sensors import SensorSpec
from .shading import ShadingConfig, ShadingTables, topdown_shade


class EmbreeBackend:
    """CPU ray casting with Intel Embree (``embreex``), through a shared ``RayCaster``."""

    name = "embree"

    def __init__(self, scene: Scene, raycaster: Optional[RayCaster] = None):
        self.raycaster = raycaster if raycaster is not None else RayCaster(scene)
        # The raw embreex scene skips RayCaster.intersect's float64/int64 conversions,
        # which cost as much as shading at 128x128.
        self._embree = self.raycaster.embree_scene
        self._origins: Dict[int, np.ndarray] = {}

    def cast(self, origin: np.ndarray, dirs: np.ndarray) -> Tuple[np.ndarray, ...]:
        """Closest hits of rays from one ``origin`` along ``dirs`` (N, 3) float32."""
        n = len(dirs)
        o = self._origins.get(n)
        if o is None:
            o = self._origins[n] = np.empty((n, 3), dtype=np.float32)
        o[:] = origin
        if self._embree is None:
            hits = self.raycaster.intersect(o, dirs)
            return hits.t.astype(np.float32), hits.prim.astype(np.int32), hits.u, hits.v, None
        out = self._embree.run(o, dirs, output=1)
        return out["tfar"], out["primID"], out["u"], out["v"], out["Ng"]


def _embree_backend(scene: Scene, raycaster: Optional[RayCaster] = None, device: Optional[str] = None):
    if device not in (None, "cpu"):
        raise ConfigError(f"render backend 'embree' runs on the CPU only; got device {device!r}")
    return EmbreeBackend(scene, raycaster)


def _warp_backend(scene: Scene, raycaster: Optional[RayCaster] = None, device: Optional[str] = None):
    from .warp_backend import WarpBackend

    return WarpBackend(scene, raycaster=raycaster, device=device)


# name -> factory(scene, raycaster, device). A GPU backend joins by adding an entry.
BACKENDS: Dict[str, Callable] = {"embree": _embree_backend, "warp": _warp_backend}


def make_backend(name: str, scene: Scene, raycaster: Optional[RayCaster] = None):
    """Build the backend ``name`` or ``name:device`` (e.g. "warp:cpu"); unknown names
    raise ``ConfigError`` listing the known ones."""
    if not isinstance(name, str):
        raise ConfigError(f"render backend must be a name, got {name!r}; expected one of {sorted(BACKENDS)}")
    base, _, device = name.partition(":")
    factory = BACKENDS.get(base)
    if factory is None:
        raise ConfigError(f"unknown render backend {name!r}; expected one of {sorted(BACKENDS)}")
    return factory(scene, raycaster, device or None)


class _Camera:
    """Pose-independent data of one camera (a group of sensors sharing ``camera_key``)."""

    __slots__ = ("spec", "x", "y", "inv_len", "mount_rot", "mount_pos")

    def __init__(self, spec: SensorSpec):
        self.spec = spec
        rays = spec.camera_rays()
        # camera rays are (x, y, -1): keep x and y only, contiguous
        self.x = np.ascontiguousarray(rays[:, 0], dtype=np.float32)
        self.y = np.ascontiguousarray(rays[:, 1], dtype=np.float32)
        self.inv_len = (1.0 / np.linalg.norm(rays, axis=1)).astype(np.float32)
        self.mount_rot = spec.rotation_matrix()
        self.mount_pos = np.asarray(spec.position, dtype=np.float64)

    def world_rays(self, rot: np.ndarray) -> np.ndarray:
        """(N, 3) float32 directions ``rot @ (x, y, -1)``, without BLAS: a tiny matmul
        over many rows makes OpenBLAS start threads that fight Embree for the cores."""
        out = np.empty((len(self.x), 3), dtype=np.float32)
        r = rot.astype(np.float32)
        for k in range(3):
            col = self.x * r[k, 0]
            col += self.y * r[k, 1]
            col -= r[k, 2]
            out[:, k] = col
        return out


class Renderer:
    """Renders RGB, depth and semantic sensors of a scene from agent poses.

    Args:
        scene: the scene to render.
        backend: ray-cast backend name (``BACKENDS``: "embree" on CPU, "warp" on CUDA or
            CPU), optionally with a device: "warp:cpu", "warp:cuda:0".
        raycaster: an existing ``RayCaster`` of the same scene to share (Embree only).
        shading: texture filter, light and background (``ShadingConfig``).
    """

    def __init__(self, scene: Scene, backend: str = "embree", raycaster: Optional[RayCaster] = None,
                 shading: Optional[ShadingConfig] = None):
        if raycaster is not None and raycaster.scene is not scene:
            raise ConfigError("raycaster was built for a different scene than the one given to Renderer")
        self.scene = scene
        self.backend_name = backend
        self.backend = make_backend(backend, scene, raycaster)
        self.shading = shading if shading is not None else ShadingConfig()
        self.tables = ShadingTables(scene, self.shading)
        self._cameras: Dict[tuple, _Camera] = {}
        self._groups: Dict[tuple, List[Tuple[tuple, List[SensorSpec]]]] = {}

    @property
    def raycaster(self) -> Optional[RayCaster]:
        """The shared ``RayCaster`` (None for backends that do not use one)."""
        return getattr(self.backend, "raycaster", None)

    @property
    def nbytes(self) -> int:
        """Memory of the renderer's own per-scene tables and cached rays, in bytes."""
        n = self.tables.nbytes
        for cam in self._cameras.values():
            n += cam.x.nbytes + cam.y.nbytes + cam.inv_len.nbytes
        return n

    # ------------------------------------------------------------------ rendering
    def _grouped(self, sensors: Sequence[SensorSpec]) -> List[Tuple[tuple, List[SensorSpec]]]:
        key = tuple(sensors)
        groups = self._groups.get(key)
        if groups is None:
            by_cam: Dict[tuple, List[SensorSpec]] = {}
            names = set()
            for s in sensors:
                if not isinstance(s, SensorSpec):
                    raise ConfigError(f"sensors must be SensorSpec instances, got {type(s).__name__}")
                if s.name in names:
                    raise ConfigError(f"duplicate sensor name {s.name!r}; each sensor needs its own name")
                names.add(s.name)
                by_cam.setdefault(s.camera_key, []).append(s)
                if s.camera_key not in self._cameras:
                    self._cameras[s.camera_key] = _Camera(s)
            groups = list(by_cam.items())
            if len(self._groups) > 64:  # bound the cache when callers build sensors per frame
                self._groups.clear()
            self._groups[key] = groups
        return groups

    def render(self, sensors: Iterable[SensorSpec], position: Sequence[float], rotation: Sequence[float]) -> Dict[str, np.ndarray]:
        """Observations ``{sensor.name: array}`` of the agent at ``position``/``rotation``."""
        sensors = list(sensors)
        pos = as_position(position)
        agent_rot = quat_to_matrix(as_quaternion(rotation))
        obs: Dict[str, np.ndarray] = {}
        for cam_key, group in self._grouped(sensors):
            cam = self._cameras[cam_key]
            spec = cam.spec
            origin = (pos + agent_rot @ cam.mount_pos).astype(np.float32)
            dirs = cam.world_rays(agent_rot @ cam.mount_rot)
            t, prim, b1, b2, ng = self.backend.cast(origin, dirs)
            h, w = spec.height, spec.width
            miss = np.flatnonzero(prim < 0)
            for s in group:
                if s.kind == "depth":
                    obs[s.name] = self._depth(s, t, miss).reshape(h, w, 1)
                elif s.kind == "semantic":
                    obs[s.name] = np.take(self.tables.face_object, prim).reshape(h, w)
                else:
                    obs[s.name] = self.tables.shade(prim, b1, b2, dirs, cam.inv_len, ng, miss).reshape(h, w, 3)
        return obs

    @staticmethod
    def _depth(spec: SensorSpec, t: np.ndarray, miss: np.ndarray) -> np.ndarray:
        """z-depth clipped to [min, max] (optionally mapped to [0, 1]); misses are 0."""
        d = np.minimum(t, np.float32(spec.max_depth), dtype=np.float32)
        if spec.min_depth > 0:
            np.maximum(d, np.float32(spec.min_depth), out=d)
        if spec.normalize_depth:
            d -= np.float32(spec.min_depth)
            d *= np.float32(1.0 / (spec.max_depth - spec.min_depth))
        if len(miss):
            d[miss] = 0.0
        return d


# ---------------------------------------------------------------------------- top-down
def render_topdown(scene: Scene, meters_per_pixel: float = 0.02, skip_categories: Sequence[str] = ("ceiling",),
                   max_height: Optional[float] = None, raycaster: Optional[RayCaster] = None,
                   tables: Optional[ShadingTables] = None, max_pixels: int = 2048) -> np.ndarray:
    """Orthographic view straight down, (H, W, 3) uint8; row 0 is min z, column 0 min x.

    Triangles of objects in ``skip_categories`` (the ceiling) and, if given, surfaces
    above ``max_height`` are seen through: such rays are cast again from just below
    the hit. ``meters_per_pixel`` grows if the image would exceed ``max_pixels`` a side.
    """
    if not (isinstance(meters_per_pixel, (int, float)) and meters_per_pixel > 0):
        raise ConfigError(f"meters_per_pixel={meters_per_pixel!r}; expected a positive number")
    lo, hi = scene.bounds
    mpp = float(meters_per_pixel)
    extent = max(hi[0] - lo[0], hi[2] - lo[2])
    if extent / mpp > max_pixels:
        mpp = extent / max_pixels
    w = max(1, int(math.ceil((hi[0] - lo[0]) / mpp)))
    h = max(1, int(math.ceil((hi[2] - lo[2]) / mpp)))
    rc = raycaster if raycaster is not None else RayCaster(scene)
    tabs = tables if tables is not None else ShadingTables(scene)
    xs = lo[0] + (np.arange(w) + 0.5) * mpp
    zs = lo[2] + (np.arange(h) + 0.5) * mpp
    X, Z = np.meshgrid(xs, zs)
    n = X.size
    origins = np.empty((n, 3), dtype=np.float32)
    origins[:, 0] = X.ravel()
    origins[:, 1] = hi[1] + 1.0
    origins[:, 2] = Z.ravel()
    dirs = np.zeros((n, 3), dtype=np.float32)
    dirs[:, 1] = -1.0
    skip_ids = [o.id for o in scene.objects if o.category in set(skip_categories)]
    skip_face = np.zeros(scene.num_triangles + 1, dtype=bool)
    if skip_ids:
        skip_face[:-1] = np.isin(scene.face_object, skip_ids)
    prim = np.full(n, -1, dtype=np.int64)
    b1 = np.zeros(n, dtype=np.float32)
    b2 = np.zeros(n, dtype=np.float32)
    todo = np.arange(n)
    for _ in range(32):  # each pass peels one layer of skipped surfaces
        hits = rc.intersect(origins[todo], dirs[todo])
        p = hits.prim
        again = skip_face[p] & (p >= 0)
        if max_height is not None:
            hy = origins[todo, 1] - np.where(np.isfinite(hits.t), hits.t, 0)
            again |= (p >= 0) & (hy > max_height)
        done = ~again
        prim[todo[done]] = p[done]
        b1[todo[done]] = hits.u[done]
        b2[todo[done]] = hits.v[done]
        todo = todo[again]
        if len(todo) == 0:
            break
        origins[todo, 1] -= hits.t[again].astype(np.float32) + 1e-4
    rgb = topdown_shade(tabs, prim, b1, b2)
    return rgb.reshape(h, w, 3)
