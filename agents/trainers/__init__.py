"""Trainers: imitation learning (teacher forcing + DAgger), checkpoints, distributed helpers."""
from .buffer import EpisodeRecord, TrajectoryBuffer, collate
from .checkpoint import load_checkpoint, resolve_checkpoint, save_checkpoint
from .dagger import dagger_beta, episode_schedule, inflection_coefficient, inflection_weights
from .distributed import DistInfo, init_distributed, shutdown_distributed

__all__ = ["EpisodeRecord", "TrajectoryBuffer", "collate", "load_checkpoint", "resolve_checkpoint", "save_checkpoint",
           "dagger_beta", "episode_schedule", "inflection_coefficient", "inflection_weights", "DistInfo",
           "init_distributed", "shutdown_distributed", "ILTrainer"]


def __getattr__(name):
    if name == "ILTrainer":  # imports envs; keep it lazy
        from .il import ILTrainer

        return ILTrainer
    raise AttributeError(name)
