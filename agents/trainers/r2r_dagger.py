"""Registers ``r2r_dagger`` (discrete R2R imitation learning, ``agents.discrete.trainer``) in ``TRAINERS``."""
from __future__ import annotations

from ..discrete.trainer import R2RDaggerTrainer, R2RTrainerConfig
from .registry import TRAINERS

TRAINERS.register("r2r_dagger", config=R2RTrainerConfig)(R2RDaggerTrainer)
