"""Agent actions, configuration and state (habitat's discrete VLN-CE action space)."""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, InvalidActionError


class Action(enum.IntEnum):
    """Discrete actions with habitat's codes."""

    STOP = 0
    MOVE_FORWARD = 1
    TURN_LEFT = 2
    TURN_RIGHT = 3

    @classmethod
    def parse(cls, action) -> "Action":
        """Accept an ``Action``, an int code 0..3 (numpy ints too) or a name."""
        if isinstance(action, cls):
            return action
        if isinstance(action, str):
            try:
                return cls[action.upper()]
            except KeyError:
                raise InvalidActionError(f"unknown action name {action!r}; expected one of {[a.name for a in cls]}") from None
        try:
            code = int(np.asarray(action).item())
        except (TypeError, ValueError):
            raise InvalidActionError(f"action {action!r} is not an integer code; expected 0..{len(cls) - 1}") from None
        if float(np.asarray(action).item()) != code or code not in cls._value2member_map_:
            raise InvalidActionError(f"action {action!r} out of range; expected an integer in 0..{len(cls) - 1}")
        return cls(code)


@dataclass
class AgentConfig:
    """The agent body and its action magnitudes.

    Attributes:
        height: body cylinder height (m); clearance checked up to here.
        radius: body cylinder radius (m); navigable space is eroded by it.
        forward_step: metres moved by MOVE_FORWARD.
        turn_angle: degrees turned by TURN_LEFT / TURN_RIGHT.
        max_climb: largest floor step the agent can walk up or down (m).
        max_slope: steepest walkable floor (degrees from horizontal).
        allow_sliding: on collision slide along the obstacle (habitat default) instead
            of stopping at the contact point.
    """

    height: float = 1.5
    radius: float = 0.1
    forward_step: float = 0.25
    turn_angle: float = 15.0
    max_climb: float = 0.2
    max_slope: float = 45.0
    allow_sliding: bool = True

    def __post_init__(self) -> None:
        for name in ("height", "radius", "forward_step", "turn_angle"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"AgentConfig.{name}={v!r}; expected a positive finite number")
        if not (0 <= self.max_climb < self.height):
            raise ConfigError(f"AgentConfig.max_climb={self.max_climb!r}; expected 0 <= max_climb < height")
        if not (0 < self.max_slope < 90):
            raise ConfigError(f"AgentConfig.max_slope={self.max_slope!r}; expected degrees in (0, 90)")

    def key(self) -> tuple:
        """Settings that change navigability (for caching grids)."""
        return (round(self.height, 6), round(self.radius, 6), round(self.max_climb, 6), round(self.max_slope, 6))


@dataclass
class AgentState:
    """Agent pose: ``position`` [x, y, z] on the floor, ``rotation`` quaternion [x, y, z, w]."""

    position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    rotation: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 0.0, 1.0]))
