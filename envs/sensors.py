"""The sensors of the navigation envs, as two tables (the one place that wires them).

* ``CAMERA_SENSORS``: rendered observations, switched on by an ``EnvConfig`` flag of the
  same name (``rgb``, ``depth``, ``semantic``); each row builds the ``SensorSpec`` and
  the observation space.
* ``ORACLE_SENSORS``: privileged observations for imitation learning, switched on by
  ``EnvConfig.<name>_sensor`` (``expert_action``, ``progress``); each row gives the
  space and reads the value from the env.

A new sensor is one row here (plus its ``EnvConfig`` flag).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
from gymnasium import spaces

from vlnsim.agent import Action
from vlnsim.render.sensors import SensorSpec


@dataclass(frozen=True)
class CameraSensor:
    """A rendered sensor: ``spec(cfg, common)`` -> SensorSpec, ``space(cfg)`` -> Box."""

    spec: Callable[[Any, Dict[str, Any]], SensorSpec]
    space: Callable[[Any], spaces.Space]


@dataclass(frozen=True)
class OracleSensor:
    """A privileged sensor: ``space`` and ``read(env)`` -> array (env is a ``NavEnv``)."""

    space: spaces.Space
    read: Callable[[Any], np.ndarray]


CAMERA_SENSORS: Dict[str, CameraSensor] = {
    "rgb": CameraSensor(lambda c, common: SensorSpec("rgb", kind="rgb", **common),
                        lambda c: spaces.Box(0, 255, (c.height, c.width, 3), np.uint8)),
    "depth": CameraSensor(lambda c, common: SensorSpec("depth", kind="depth", min_depth=c.min_depth,
                                                       max_depth=c.max_depth, normalize_depth=c.normalize_depth,
                                                       **common),
                          lambda c: spaces.Box(0.0, 1.0 if c.normalize_depth else c.max_depth,
                                               (c.height, c.width, 1), np.float32)),
    "semantic": CameraSensor(lambda c, common: SensorSpec("semantic", kind="semantic", **common),
                             lambda c: spaces.Box(-1, np.iinfo(np.int32).max, (c.height, c.width), np.int32)),
}

ORACLE_SENSORS: Dict[str, OracleSensor] = {
    # After the episode ends the expert's label is STOP.
    "expert_action": OracleSensor(
        spaces.Box(0, len(Action) - 1, (1,), np.int64),
        lambda env: np.array([env.expert_action() if not env.episode_over else Action.STOP], dtype=np.int64)),
    # 1 - geodesic_to_goal / geodesic_at_start, clipped to [0, 1].
    "progress": OracleSensor(spaces.Box(0.0, 1.0, (1,), np.float32),
                             lambda env: np.array([env.progress()], dtype=np.float32)),
}


def camera_specs(cfg, names: Optional[Sequence[str]] = None) -> List[SensorSpec]:
    """The ``SensorSpec`` of every camera sensor ``cfg`` switches on, or of ``names`` (all share one camera)."""
    common = dict(width=cfg.width, height=cfg.height, hfov=cfg.hfov, position=(0.0, cfg.sensor_height, 0.0))
    chosen = [n for n in CAMERA_SENSORS if getattr(cfg, n)] if names is None else list(names)
    return [CAMERA_SENSORS[n].spec(cfg, common) for n in chosen]


def sensor_spaces(cfg) -> Dict[str, spaces.Space]:
    """Observation spaces of the camera and oracle sensors ``cfg`` switches on."""
    out = {name: s.space(cfg) for name, s in CAMERA_SENSORS.items() if getattr(cfg, name)}
    out.update({name: s.space for name, s in ORACLE_SENSORS.items() if getattr(cfg, f"{name}_sensor")})
    return out


def oracle_observations(env) -> Dict[str, np.ndarray]:
    """The oracle sensors' values for ``env`` (those its config switches on)."""
    return {name: s.read(env) for name, s in ORACLE_SENSORS.items() if getattr(env.config, f"{name}_sensor")}


# ----- semantic categories ---------------------------------------------------------------
def _semantic_categories() -> tuple:
    from vlnsim.scene.catalogue import CATEGORIES

    structure = ("floor", "ceiling", "wall", "door_frame", "doorway")
    return ("<nothing>", "<other>") + structure + tuple(sorted(c for c in CATEGORIES if c not in structure))


#: The fixed object-category list of the ``semantic_category`` observation: index 0 is
#: "nothing hit" (semantic id -1, and what ``--ablate vision`` blanks to), 1 any category
#: outside the list (objects of loaded files), then the procedural houses' structure
#: categories and the furniture catalogue's categories (sorted), the same for every scene.
SEMANTIC_CATEGORIES: tuple = _semantic_categories()
SEMANTIC_INDEX: Dict[str, int] = {name: i for i, name in enumerate(SEMANTIC_CATEGORIES)}


def category_table(scene) -> np.ndarray:
    """Object id -> ``SEMANTIC_CATEGORIES`` index (uint8) for ``scene``; one slot past the largest id."""
    objects = list(getattr(scene, "objects", []) or [])
    size = max([int(o.id) for o in objects] + [-1]) + 2
    table = np.full(size, SEMANTIC_INDEX["<other>"], dtype=np.uint8)
    for o in objects:
        table[int(o.id)] = SEMANTIC_INDEX.get(str(o.category), SEMANTIC_INDEX["<other>"])
    return table


def semantic_category(semantic: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per-pixel category indices (uint8, same shape) of a semantic image (object ids, -1 = nothing)."""
    ids = np.asarray(semantic)
    out = np.zeros(ids.shape, dtype=np.uint8)
    hit = ids >= 0
    out[hit] = table[np.minimum(ids[hit], len(table) - 1)]
    return out


def semantic_category_space(cfg) -> spaces.Space:
    """Observation space of ``semantic_category`` (uint8 (H, W) indices into ``SEMANTIC_CATEGORIES``)."""
    return spaces.Box(0, len(SEMANTIC_CATEGORIES) - 1, (cfg.height, cfg.width), np.uint8)
