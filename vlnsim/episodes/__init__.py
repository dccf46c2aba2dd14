"""Episodes and instructions: the VLN-CE model, VLN-CE/R2R I/O, vocabulary, generation.

``vlnsim.episodes.speaker`` (template instructions) and ``vlnsim.episodes.generate``
(procedural datasets) are imported on use; they need the scene and navigation modules.
"""
from .io import (SPLITS, available_splits, dataset_dir, load, load_gt, load_split, read_json,
                 resolve_scene_path, save, save_gt, split_path, write_json)
from .model import Episode, EpisodeDataset, Goal, Instruction
from .validate import check_episode_navigable, check_navigable
from .r2r import R2RPath, episodes_to_r2r, load_r2r, r2r_to_episodes, save_r2r
from .vocab import EOS, PAD, UNK, Vocabulary, load_tokenizer, tokenize, train_tokenizer

__all__ = [
    "Episode", "EpisodeDataset", "Goal", "Instruction", "Vocabulary", "tokenize",
    "load", "save", "load_split", "available_splits", "load_gt", "save_gt", "resolve_scene_path",
    "dataset_dir", "split_path", "read_json", "write_json", "SPLITS",
    "R2RPath", "load_r2r", "save_r2r", "episodes_to_r2r", "r2r_to_episodes",
    "train_tokenizer", "load_tokenizer", "PAD", "UNK", "EOS", "check_episode_navigable", "check_navigable",
]
