"""Ray-cast backend on NVIDIA Warp (``pip install vlnsim[gpu]``): ``wp.mesh_query_ray``.

The same kernel runs on a CUDA device or on Warp's CPU device, so it is tested without a
GPU. Select it with ``Renderer(scene, backend="warp")`` (CUDA if available, else CPU) or
``backend="warp:cpu"`` / ``"warp:cuda:0"`` for an explicit Warp device.

Hit conventions are converted to the Embree backend's: ``t`` is in multiples of the
ray direction's length (so camera rays with z = -1 give z-depth), ``prim`` is -1 on a
miss, and the barycentrics are the weights of the triangle's vertices 1 and 2 (Warp
reports the weights of vertices 0 and 1).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..errors import ConfigError
from ..scene.model import Scene

_KERNEL: Dict[str, Any] = {}


def _import_warp():
    try:
        import warp as wp
    except ImportError as exc:
        raise ConfigError(
            "render backend 'warp' needs NVIDIA Warp: pip install 'vlnsim[gpu]' (or warp-lang); "
            "the 'embree' backend works without it"
        ) from exc
    return wp


def _cast_kernel(wp):
    """Build (once) the per-ray kernel; defined lazily because it needs ``warp`` imported."""
    if "cast" in _KERNEL:
        return _KERNEL["cast"]

    @wp.kernel
    def cast(
        mesh: wp.uint64,
        origin: wp.vec3,
        dirs: wp.array(dtype=wp.vec3),
        max_t: float,
        t_out: wp.array(dtype=float),
        prim_out: wp.array(dtype=wp.int32),
        b1_out: wp.array(dtype=float),
        b2_out: wp.array(dtype=float),
    ):
        i = wp.tid()
        q = wp.mesh_query_ray(mesh, origin, dirs[i], max_t)
        if q.result:
            t_out[i] = q.t
            prim_out[i] = q.face
            # Warp: u, v weigh vertices 0 and 1; Embree (our convention): vertices 1 and 2
            b1_out[i] = q.v
            b2_out[i] = 1.0 - q.u - q.v
        else:
            t_out[i] = max_t
            prim_out[i] = -1
            b1_out[i] = 0.0
            b2_out[i] = 0.0

    _KERNEL["cast"] = cast
    return cast


class WarpBackend:
    """Closest-hit ray casting with a Warp BVH (``wp.Mesh``) on a CUDA or CPU device.

    Args:
        scene: the scene whose triangles are uploaded once.
        raycaster: an Embree ``RayCaster`` kept for callers that share one (navigation);
            not used for rendering.
        device: Warp device name; default "cuda" when available, else "cpu".
    """

    name = "warp"
    max_t = 1.0e6

    def __init__(self, scene: Scene, raycaster=None, device: Optional[str] = None):
        wp = _import_warp()
        wp.init()
        self.wp = wp
        if device is None:
            device = "cuda" if wp.is_cuda_available() else "cpu"
        try:
            self.device = wp.get_device(device)
        except Exception as exc:
            names = [str(d) for d in wp.get_devices()]
            raise ConfigError(f"warp device {device!r} is not available; expected one of {names}") from exc
        self.raycaster = raycaster
        self.scene = scene
        self._points = wp.array(np.ascontiguousarray(scene.vertices, dtype=np.float32), dtype=wp.vec3, device=self.device)
        self._indices = wp.array(np.ascontiguousarray(scene.faces.reshape(-1), dtype=np.int32), dtype=wp.int32,
                                 device=self.device)
        self.mesh = wp.Mesh(points=self._points, indices=self._indices)
        self._kernel = _cast_kernel(wp)
        self._buffers: Dict[int, Tuple[Any, ...]] = {}

    def _outputs(self, n: int):
        buf = self._buffers.get(n)
        if buf is None:
            wp = self.wp
            buf = (
                wp.empty(n, dtype=float, device=self.device),
                wp.empty(n, dtype=wp.int32, device=self.device),
                wp.empty(n, dtype=float, device=self.device),
                wp.empty(n, dtype=float, device=self.device),
            )
            self._buffers[n] = buf
        return buf

    def cast(self, origin: np.ndarray, dirs: np.ndarray) -> Tuple[np.ndarray, ...]:
        """Closest hits of rays from ``origin`` along ``dirs`` (N, 3); see the module docstring."""
        wp = self.wp
        dirs = np.ascontiguousarray(dirs, dtype=np.float32)
        n = len(dirs)
        d = wp.array(dirs, dtype=wp.vec3, device=self.device)
        t, prim, b1, b2 = self._outputs(n)
        o = wp.vec3(float(origin[0]), float(origin[1]), float(origin[2]))
        wp.launch(self._kernel, dim=n, inputs=[self.mesh.id, o, d, float(self.max_t), t, prim, b1, b2], device=self.device)
        # .numpy() is a view on the CPU device: copy, the buffers are reused next call
        return t.numpy().copy(), prim.numpy().copy(), b1.numpy().copy(), b2.numpy().copy(), None
