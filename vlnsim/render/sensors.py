"""Sensor specifications (habitat's CameraSensorSpec, reduced to what we render)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Tuple

import numpy as np

from ..errors import ConfigError
from ..geometry import euler_to_matrix

SENSOR_KINDS = ("rgb", "depth", "semantic")


@dataclass(frozen=True)
class SensorSpec:
    """One camera sensor mounted on the agent.

    Attributes:
        name: key of this sensor's array in the observation dict.
        kind: "rgb" (uint8 HxWx3), "depth" (float32 HxWx1, z-depth in metres) or
            "semantic" (int32 HxW object ids, -1 where nothing is hit).
        width, height: resolution in pixels (> 0).
        hfov: horizontal field of view in degrees, in (0, 180).
        position: mount offset on the agent (agent frame: +Y up, -Z forward), metres.
        orientation: Euler angles [x (pitch), y (yaw), z (roll)] in radians, as habitat.
        min_depth, max_depth: depth clipping range (metres); depth beyond max_depth is
            clipped to max_depth, a miss is 0 (as habitat's depth sensor).
        normalize_depth: if true depth is mapped to [0, 1] by (d - min) / (max - min).
    """

    name: str
    kind: str = "rgb"
    width: int = 128
    height: int = 128
    hfov: float = 90.0
    position: Tuple[float, float, float] = (0.0, 1.25, 0.0)
    orientation: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    min_depth: float = 0.0
    max_depth: float = 10.0
    normalize_depth: bool = False

    def __post_init__(self) -> None:
        if self.kind not in SENSOR_KINDS:
            raise ConfigError(f"SensorSpec {self.name!r}: kind={self.kind!r}; expected one of {SENSOR_KINDS}")
        for fname in ("width", "height"):
            val = getattr(self, fname)
            if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val <= 0:
                raise ConfigError(f"SensorSpec {self.name!r}: {fname}={val!r}; expected a positive integer")
        if not (isinstance(self.hfov, (int, float)) and 0.0 < float(self.hfov) < 180.0):
            raise ConfigError(f"SensorSpec {self.name!r}: hfov={self.hfov!r}; expected degrees in the open interval (0, 180)")
        for fname in ("position", "orientation"):
            val = np.asarray(getattr(self, fname), dtype=np.float64)
            if val.shape != (3,) or not np.all(np.isfinite(val)):
                raise ConfigError(f"SensorSpec {self.name!r}: {fname}={getattr(self, fname)!r}; expected 3 finite numbers")
            object.__setattr__(self, fname, tuple(float(x) for x in val))
        if not (0.0 <= self.min_depth < self.max_depth):
            raise ConfigError(
                f"SensorSpec {self.name!r}: min_depth={self.min_depth}, max_depth={self.max_depth}; expected 0 <= min < max"
            )

    @property
    def camera_key(self) -> tuple:
        """Sensors with equal keys share one ray cast."""
        return (self.width, self.height, float(self.hfov), self.position, self.orientation)

    @property
    def focal(self) -> float:
        """Focal length in pixels."""
        return (self.width / 2.0) / math.tan(math.radians(self.hfov) / 2.0)

    def camera_rays(self) -> np.ndarray:
        """(H*W, 3) ray directions in the *sensor* frame, with camera-z component -1.

        Because each direction has z = -1, the ray parameter ``t`` of a hit equals its
        z-depth along the camera axis (habitat's depth), not the Euclidean ray length.
        Pixel centres; row 0 is the top of the image.
        """
        f = self.focal
        xs = (np.arange(self.width) + 0.5 - self.width / 2.0) / f
        ys = -(np.arange(self.height) + 0.5 - self.height / 2.0) / f
        X, Y = np.meshgrid(xs, ys)
        d = np.stack([X, Y, -np.ones_like(X)], axis=-1).reshape(-1, 3)
        return d

    def rotation_matrix(self) -> np.ndarray:
        """Rotation of the sensor frame relative to the agent frame."""
        return euler_to_matrix(self.orientation)
