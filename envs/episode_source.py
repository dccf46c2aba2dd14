"""Which episodes an env serves and in what order.

An ``EpisodeSource`` loads a split once, keeps the configured subset and shard
(``episodes[shard_index::num_shards]``, so vector-env workers never share an episode),
checks every scene file exists up front, and hands out episodes sequentially or in a
seeded shuffled order, cycling forever.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from vlnsim.episodes import (Episode, EpisodeDataset, Vocabulary, available_splits, load_gt, load_split,
                             resolve_scene_path, split_path)
from vlnsim.errors import ConfigError, VlnsimError

from .config import EnvConfig


class SplitNotFoundError(VlnsimError, FileNotFoundError):
    """The configured dataset split has no episode file."""


def load_dataset(config: EnvConfig) -> EpisodeDataset:
    """Load the configured split; a missing split raises ``SplitNotFoundError`` listing those present."""
    path = split_path(config.data_root, config.dataset, config.split, config.version)
    if not path.is_file():
        have = available_splits(config.data_root, config.dataset, config.version)
        raise SplitNotFoundError(
            f"split {config.split!r} of dataset {config.dataset!r} not found: no file {path}; "
            f"available splits: {have or 'none (generate one with `vlnsim generate`)'}"
        )
    return load_split(config.data_root, config.dataset, config.split, config.version)


def load_ground_truth(config: EnvConfig) -> Dict[str, List[List[float]]]:
    """``{episode_id: expert locations}`` from the split's ``_gt`` file ({} when it has none)."""
    path = split_path(config.data_root, config.dataset, config.split, config.version, gt=True)
    if not path.is_file():
        return {}
    return {str(k): v["locations"] for k, v in load_gt(path).items()}


class EpisodeSource:
    """The episodes of one env (a shard of a split) and the iteration over them."""

    def __init__(self, config: EnvConfig, dataset: Optional[EpisodeDataset] = None):
        self.config = config
        self.dataset = dataset if dataset is not None else load_dataset(config)
        episodes = list(self.dataset.episodes)
        if config.episode_ids is not None:
            by_id = {str(e.episode_id): e for e in episodes}
            missing = [i for i in config.episode_ids if i not in by_id]
            if missing:
                raise ConfigError(
                    f"EnvConfig.episode_ids holds ids {missing[:5]} not in split {config.split!r}; "
                    f"expected ids such as {list(by_id)[:5]}"
                )
            episodes = [by_id[i] for i in config.episode_ids]
        if not episodes:
            raise ConfigError(f"split {config.split!r} of dataset {config.dataset!r} holds no episodes")
        self.all_episodes: List[Episode] = episodes
        self._by_id: Dict[str, Episode] = {str(e.episode_id): e for e in episodes}
        self.episodes: List[Episode] = episodes[config.shard_index :: config.num_shards]
        if not self.episodes:
            raise ConfigError(
                f"EnvConfig.shard_index={config.shard_index} of num_shards={config.num_shards} gets no episodes "
                f"(the split has {len(episodes)}); expected num_shards <= {len(episodes)}"
            )
        # Fail at construction, naming the file, rather than deep inside a rollout.
        for scene_id in sorted({e.scene_id for e in self.episodes}):
            resolve_scene_path(config.data_root, scene_id, must_exist=True)
        self._order: List[int] = list(range(len(self.episodes)))
        self._cursor = 0
        self.gt_locations = load_ground_truth(config)

    def reference_locations(self, episode: Episode) -> List[List[float]]:
        """The path nDTW, SDTW and CLS compare against.

        As VLN-CE: the expert's per-step locations from ``{split}_gt.json.gz`` when the
        split has them (a dense path, like the agent's), else the episode's
        ``reference_path`` (else start and goal).
        """
        gt = self.gt_locations.get(str(episode.episode_id))
        if gt:
            return gt
        return episode.reference_path or [episode.start_position, episode.goals[0].position]

    @property
    def vocab(self) -> Optional[Vocabulary]:
        """The split's instruction vocabulary (None when the file has no word list)."""
        if len(self.dataset.word_list) < 2:
            return None
        return Vocabulary(self.dataset.word_list)

    def restart(self, rng: np.random.Generator) -> None:
        """Start a new pass from the first episode (a fresh permutation when shuffling)."""
        self._cursor = 0
        self._order = self._new_order(rng)

    def _new_order(self, rng: np.random.Generator) -> List[int]:
        if self.config.episode_order == "shuffle":
            return [int(i) for i in rng.permutation(len(self.episodes))]
        return list(range(len(self.episodes)))

    def next(self, rng: np.random.Generator) -> Episode:
        """The next episode; after the last one a new pass starts."""
        if self._cursor >= len(self._order):
            self.restart(rng)
        ep = self.episodes[self._order[self._cursor]]
        self._cursor += 1
        return ep

    def get(self, episode_id) -> Episode:
        """The episode with ``episode_id`` (int or str) from the whole split subset."""
        ep = self._by_id.get(str(episode_id))
        if ep is None:
            raise ConfigError(
                f"episode_id={episode_id!r} is not in split {self.config.split!r}; "
                f"expected one of {len(self._by_id)} ids such as {list(self._by_id)[:5]}"
            )
        return ep

    def __len__(self) -> int:
        return len(self.episodes)
