"""``vlnsim/VLN-v0``: follow a natural-language instruction (R2R-CE style)."""
from __future__ import annotations

from typing import Dict, List

import numpy as np
from gymnasium import spaces

from vlnsim.episodes import Vocabulary, tokenize
from vlnsim.errors import EpisodeFormatError

from .base import NavEnv
from .sensors import category_table, semantic_category, semantic_category_space


class VLNEnv(NavEnv):
    """Vision-and-language navigation over a VLN-CE episode split.

    Description:
        The agent starts at the episode's start pose and must follow the instruction to
        the end of the reference path, then call STOP.

    Observation (``Dict``):
        ``rgb`` uint8 (H, W, 3), ``depth`` float32 (H, W, 1) metres, optional
        ``semantic`` int32 (H, W) with, beside it, ``semantic_category`` uint8 (H, W): the
        object category of each pixel as an index of ``envs.sensors.SEMANTIC_CATEGORIES``
        (0 = nothing hit); ``instruction`` int64 (L,) word ids from the split's
        ``word_list`` padded with 0 (L = ``max_instruction_length``);
        ``instruction_mask`` int8 (L,), 1 where a token is; optional oracle sensors
        ``expert_action`` int64 (1,) and ``progress`` float32 (1,).

    Action: ``Discrete(4)``: STOP=0, MOVE_FORWARD=1, TURN_LEFT=2, TURN_RIGHT=3.

    Rewards: habitat's navigation reward, ``-(d_t - d_{t-1}) * distance_reward_weight +
    slack_reward``, plus ``success_reward`` on a successful STOP. ``d`` is the grid
    geodesic distance to the goal (the path finder's distance field, see
    ``envs.measures``), also reported as ``info["distance_to_goal"]``.

    Termination: ``terminated`` when STOP is called; ``truncated`` after
    ``EnvConfig.max_episode_steps`` (500; ``gymnasium.make``'s own
    ``max_episode_steps`` argument adds a TimeLimit wrapper whose truncation carries
    no metrics, so set the config field instead). Success: STOP within ``success_distance`` (3 m,
    geodesic) of the goal. The final step's ``info["metrics"]`` holds success, spl,
    ne, oracle_success, tl, ndtw, sdtw, cls; ``info["path"]`` the agent's positions.

    Registered ids: ``vlnsim/VLN-v0``.
    """

    task = "vln"

    def __init__(self, config=None, render_mode=None, **kwargs):
        super().__init__(config, render_mode, **kwargs)
        self._tokens = np.zeros(self.config.max_instruction_length, dtype=np.int64)
        self._mask = np.zeros(self.config.max_instruction_length, dtype=np.int8)

    @property
    def vocab(self) -> Vocabulary:
        """The split's instruction vocabulary (``word_list``)."""
        return self._vocab

    def _task_spaces(self) -> Dict[str, spaces.Space]:
        vocab = self.episodes.vocab
        if vocab is None:
            raise EpisodeFormatError(
                f"dataset {self.config.dataset!r} split {self.config.split!r} has no instruction_vocab.word_list; "
                "VLN needs one (PointNav does not)"
            )
        self._vocab = vocab
        L = self.config.max_instruction_length
        out = {
            "instruction": spaces.Box(0, len(vocab) - 1, (L,), np.int64),
            "instruction_mask": spaces.Box(0, 1, (L,), np.int8),
        }
        if self.config.semantic:
            out["semantic_category"] = semantic_category_space(self.config)
        return out

    def _on_reset(self) -> None:
        ep = self.current_episode
        if ep.instruction is None:
            raise EpisodeFormatError(f"episode {ep.episode_id!r} of split {self.config.split!r} has no instruction")
        ids = list(ep.instruction.instruction_tokens) or self._vocab.encode(ep.instruction.instruction_text)
        ids = [int(t) for t in ids if int(t) != 0][: self.config.max_instruction_length]
        bad = [t for t in ids if not 0 <= t < len(self._vocab)]
        if bad:
            raise EpisodeFormatError(
                f"episode {ep.episode_id!r}: instruction token {bad[0]} outside the word_list of {len(self._vocab)} words"
            )
        self._tokens = np.zeros(self.config.max_instruction_length, dtype=np.int64)
        self._tokens[: len(ids)] = ids
        self._mask = (self._tokens != 0).astype(np.int8)

    def _task_observations(self) -> Dict[str, np.ndarray]:
        out = {"instruction": self._tokens.copy(), "instruction_mask": self._mask.copy()}
        if self.config.semantic and "semantic" in self._raw_obs:
            scene = self.sim.scene
            if getattr(self, "_category_scene", None) is not scene:  # one lookup table per loaded scene
                self._category_scene, self._category_table = scene, category_table(scene)
            out["semantic_category"] = semantic_category(self._raw_obs["semantic"], self._category_table)
        return out

    def instruction_words(self) -> List[str]:
        """The instruction's tokens: index i is token i of ``obs["instruction"]``."""
        ep = self.current_episode
        if ep is None or ep.instruction is None:
            return []
        return tokenize(ep.instruction.instruction_text)[: self.config.max_instruction_length]
