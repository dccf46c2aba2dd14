"""Gymnasium environments over vlnsim.

Importing ``envs`` registers, in this one place:

* ``vlnsim/VLN-v0``      -> ``envs.vln_env.VLNEnv`` (instruction following, R2R-CE style)
* ``vlnsim/PointNav-v0`` -> ``envs.pointnav_env.PointNavEnv`` (GPS+compass point goal)

Both take an ``EnvConfig`` (``config=``), its fields as keyword arguments, or a YAML
path: ``gymnasium.make("vlnsim/VLN-v0", data_root="data", split="val_unseen")`` or
``envs.make_env("configs/vln_r2r.yaml", split="val_unseen")``.
"""
from __future__ import annotations

from typing import Any

import gymnasium

from vlnsim.lazy import lazy_getattr

from .config import EnvConfig, load_config

ENV_IDS = {"vln": "vlnsim/VLN-v0", "pointnav": "vlnsim/PointNav-v0"}

for _task, _entry in (("vln", "envs.vln_env:VLNEnv"), ("pointnav", "envs.pointnav_env:PointNavEnv")):
    if ENV_IDS[_task] not in gymnasium.registry:
        # The env enforces its own step limit (EnvConfig.max_episode_steps) so that
        # YAML, kwargs and vector workers all agree; no TimeLimit wrapper is added.
        gymnasium.register(id=ENV_IDS[_task], entry_point=_entry)
if "vlnsim/R2R-v0" not in gymnasium.registry:  # discrete R2R on navigation graphs (envs.r2r_env)
    gymnasium.register(id="vlnsim/R2R-v0", entry_point="envs.r2r_env:R2REnv")

_LAZY = {
    "VLNEnv": "envs.vln_env",
    "PointNavEnv": "envs.pointnav_env",
    "NavEnv": "envs.base",
    "make_vec_env": "envs.vector",
    "EnvWorkerError": "envs.vector",
    "make_baseline": "envs.baselines",
    "BASELINES": "envs.baselines",
    "NavigationReward": "envs.rewards",
    "SplitNotFoundError": "envs.episode_source",
}


def make_env(config: Any = None, render_mode: str | None = None, **overrides: Any) -> gymnasium.Env:
    """``gymnasium.make`` the env of ``config.task`` from a config, dict or YAML path plus overrides."""
    cfg = load_config(config, **overrides)
    return gymnasium.make(ENV_IDS[cfg.task], config=cfg, render_mode=render_mode)


__getattr__ = lazy_getattr('envs', _LAZY, globals())


__all__ = ["EnvConfig", "load_config", "make_env", "ENV_IDS", *sorted(_LAZY)]
