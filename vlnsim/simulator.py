"""The Simulator: one agent in one scene, with sensors, dynamics and path finding.

Poses:
- Positions are [x, y, z] on the floor. ``reset``/``set_agent_state`` reject NaN/inf
  and points more than ``pathfinder.BOUNDS_MARGIN`` outside the scene's bounding box
  (``InvalidPoseError``); any other position is SNAPPED to the nearest navigable point
  (its own x, z when that cell is navigable) with y put on the floor, so the agent is
  always on navigable space.
- Rotations are unit quaternions [x, y, z, w] (``InvalidPoseError`` if not unit). The
  agent turns only about +Y, so a tilted rotation is reduced to its heading.
- ``reset()`` without a position draws a random navigable point on the largest island
  from the simulator's ``seed``; without a rotation it draws a random heading.

The navigability grid comes from ``vlnsim.nav.grid.get_navgrid``, cached by geometry,
agent settings and cell size, so a new Simulator on a scene seen before (in this
process) reuses the grid and its distance fields. The renderer is created only when
there are sensors; it shares the simulator's Embree ray caster.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import numpy as np

from .agent import Action, AgentConfig, AgentState
from .errors import ConfigError
from .geometry import as_position, as_quaternion, quat_from_yaw, yaw_from_quat
from .motion import AgentDynamics
from .nav.grid import get_navgrid
from .nav.pathfinder import PathFinder
from .render.raycast import RayCaster
from .render.sensors import SensorSpec
from .scene.model import Scene

BACKENDS = ("embree", "warp")


class Simulator:
    """Drive an agent in a scene: ``reset``, ``step``, observations, path finding, maps.

    Args:
        scene: the scene (``vlnsim.load_scene`` or ``vlnsim.generate_house``).
        sensors: ``SensorSpec`` list; empty for navigation-only work (no renderer).
        agent: body and action settings.
        backend: renderer backend ("embree", or "warp"/"warp:<device>").
        cell_size: navigability grid cell (m).
        seed: seed of the simulator's random generator (random reset poses).
    """

    def __init__(self, scene: Scene, sensors: Sequence[SensorSpec] = (), agent: AgentConfig = AgentConfig(),
                 backend: str = "embree", cell_size: float = 0.05, seed: int = 0):
        if not isinstance(scene, Scene):
            raise ConfigError(f"scene must be a vlnsim.Scene, got {type(scene).__name__}")
        if not isinstance(agent, AgentConfig):
            raise ConfigError(f"agent must be an AgentConfig, got {type(agent).__name__}")
        if not isinstance(backend, str) or backend.split(":")[0] not in BACKENDS:
            raise ConfigError(f"backend={backend!r}; expected one of {BACKENDS} (optionally 'warp:<device>')")
        self.sensors = list(sensors)
        names = [s.name for s in self.sensors]
        for s in self.sensors:
            if not isinstance(s, SensorSpec):
                raise ConfigError(f"sensors must be SensorSpec objects, got {type(s).__name__}")
        if len(set(names)) != len(names):
            raise ConfigError(f"sensor names must be unique, got {names}")
        self.scene = scene
        self.agent = agent
        self.backend = backend
        self.cell_size = float(cell_size)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.raycaster = RayCaster(scene)
        self.navgrid = get_navgrid(scene, agent, cell_size, self.raycaster)
        self.pathfinder = PathFinder(self.navgrid)
        self.dynamics = AgentDynamics(self.navgrid, agent)
        self._renderer = None
        if self.sensors:
            from .render.renderer import Renderer  # lazily: navigation-only users skip it

            self._renderer = Renderer(scene, backend=backend, raycaster=self.raycaster if backend == "embree" else None)
        self._position = np.zeros(3)
        self._rotation = np.array([0.0, 0.0, 0.0, 1.0])
        self._collided = False
        self._closed = False
        self._has_pose = False

    # ------------------------------------------------------------------ pose
    def _place(self, position, rotation) -> None:
        p = self.pathfinder.snap_point(as_position(position, "position"))
        q = as_quaternion(rotation, "rotation")
        self._position = p
        self._rotation = quat_from_yaw(yaw_from_quat(q))
        self._has_pose = True

    def reset(self, position: Optional[Sequence[float]] = None, rotation: Optional[Sequence[float]] = None) -> Dict[str, np.ndarray]:
        """Place the agent (random navigable pose where None) and return observations."""
        self._check_open()
        if position is None:
            position = self.pathfinder.random_navigable_point(self.rng)
        if rotation is None:
            rotation = quat_from_yaw(float(self.rng.uniform(-math.pi, math.pi)))
        self._place(position, rotation)
        self._collided = False
        return self.get_observations()

    def set_agent_state(self, position: Sequence[float], rotation: Sequence[float]) -> None:
        """Teleport the agent (validated and snapped as in ``reset``); clears the collision flag."""
        self._check_open()
        self._place(position, rotation)
        self._collided = False

    @property
    def agent_state(self) -> AgentState:
        """A copy of the agent's pose."""
        return AgentState(position=self._position.copy(), rotation=self._rotation.copy())

    @property
    def heading(self) -> float:
        """The agent's yaw in radians (0 = looking along -Z, positive = turned left)."""
        return yaw_from_quat(self._rotation)

    @property
    def previous_step_collided(self) -> bool:
        """Whether the last MOVE_FORWARD ended short of its target (hit something)."""
        return self._collided

    # ------------------------------------------------------------------ stepping
    def step(self, action) -> Dict[str, np.ndarray]:
        """Apply an action (``Action`` or its int code / name) and return observations."""
        self._check_open()
        action = Action.parse(action)
        if not self._has_pose:
            self.reset()
        res = self.dynamics.step(self._position, self._rotation, action)
        self._position, self._rotation, self._collided = res.position, res.rotation, res.collided
        return self.get_observations()

    def get_observations(self) -> Dict[str, np.ndarray]:
        """Render every sensor at the current pose ({} without sensors)."""
        self._check_open()
        if self._renderer is None:
            return {}
        return self._renderer.render(self.sensors, self._position, self._rotation)

    # ------------------------------------------------------------------ navigation
    def geodesic_distance(self, a: Sequence[float], b) -> float:
        """Shortest-path distance (m) from ``a`` to ``b`` (or nearest of a list); inf if unreachable."""
        return self.pathfinder.geodesic_distance(a, b)

    def topdown_map(self, meters_per_pixel: float = 0.05, draw_objects: bool = True, draw_rooms: bool = True) -> np.ndarray:
        """(H, W, 3) uint8 top-down map: navigable area, obstacles, objects, room labels."""
        from .viz.topdown import render_topdown

        img, _ = render_topdown(self.navgrid, self.scene, meters_per_pixel, draw_objects, draw_rooms)
        return img

    def topdown_map_info(self, meters_per_pixel: float = 0.05):
        """The ``MapInfo`` (pixel frame) of ``topdown_map`` at this resolution."""
        from .viz.topdown import MapInfo

        lo, hi = self.navgrid.bounds
        return MapInfo.from_bounds(lo, hi, meters_per_pixel)

    # ------------------------------------------------------------------ lifetime
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("Simulator is closed")

    def close(self) -> None:
        """Release the renderer and ray caster (the cached navigability grid stays cached)."""
        self._renderer = None
        self.raycaster = None
        self._closed = True

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
