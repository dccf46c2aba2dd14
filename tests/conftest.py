"""Shared test setup: one thread per process and one small generated dataset per session.

Fixtures (tests never import each other; shared data and helpers live here):

* ``tiny_dataset`` / ``data_root``: a tiny procedural VLN-CE dataset (4 houses x 6
  episodes, train / val_seen / val_unseen / test) generated once per session into a
  temporary directory; ``TINY_DATASET`` is its name.
* ``tiny_config``: ``tiny_config(run_dir, *overrides) -> ExperimentConfig``, a CMA
  experiment on ``data_root`` small enough for a test (32x32 frames, tiny CLIP).
* ``small_policy_config``: ``small_policy_config(kind, instruction="lstm") -> PolicyConfig``.
* ``hand_written_episodes``: a hand-written VLN-CE split (``tests/data/hand_written_vlnce.json``).
"""
from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)

TESTS = Path(__file__).resolve().parent
TINY_DATASET = "agents_tiny"


@dataclass(frozen=True)
class TinyDataset:
    """Where the session's tiny dataset lives."""

    root: Path
    name: str = TINY_DATASET


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> TinyDataset:
    """The session's tiny procedural dataset (generated once)."""
    from vlnsim.episodes.generate import generate_dataset

    root = tmp_path_factory.mktemp("tiny_data")
    generate_dataset(root, name=TINY_DATASET, num_houses=4, episodes_per_house=6, seed=1, progress=False,
                     num_rooms=3, instructions_per_path=2, min_distance=3.5, max_distance=8.0)
    return TinyDataset(root)


@pytest.fixture(scope="session")
def data_root(tiny_dataset) -> Path:
    """Data root of the tiny dataset (``TINY_DATASET`` under ``datasets/``)."""
    return tiny_dataset.root


TINY_OVERRIDES = (
    "device=cpu", "env.split=train", "env.width=32", "env.height=32", "env.max_episode_steps=40",
    "policy.hidden_size=32", "policy.rgb_dim=16", "policy.depth_dim=16", "policy.attention_dim=16",
    "policy.prev_action_dim=8", "policy.vision.tiny_image_size=32", "policy.vision.tiny_patch_size=8",
    "policy.depth.channels=[8,16]", "policy.depth.output_dim=16", "policy.depth.input_size=32",
    "policy.instruction.embedding_dim=16", "policy.instruction.hidden_size=16", "policy.depth.trainable=false",
    "trainer.iterations=2", "trainer.dagger_p=0.5", "trainer.episodes_per_iteration=4",
    "trainer.epochs_per_iteration=4", "trainer.batch_size=2", "trainer.lr=3e-3", "trainer.num_envs=2",
    "trainer.max_collect_steps=40", "trainer.log_every=1", "trainer.cache.enabled=false", "eval.split=null",
)


@pytest.fixture(scope="session")
def tiny_overrides(tiny_dataset):
    """The dotted overrides of the tiny experiment on the session dataset (for CLI tests)."""
    return [f"env.data_root={tiny_dataset.root}", f"env.dataset={tiny_dataset.name}", *TINY_OVERRIDES]


@pytest.fixture(scope="session")
def tiny_config(tiny_overrides):
    """``tiny_config(run_dir, *extra_overrides) -> ExperimentConfig`` on the tiny dataset."""
    def make(run_dir, *extra):
        from agents.config import load_experiment_config

        return load_experiment_config(None, [f"run_dir={run_dir}", *tiny_overrides, *extra])

    return make


@pytest.fixture(scope="session")
def small_policy_config():
    """``small_policy_config(kind, instruction="lstm") -> PolicyConfig`` (32x32 inputs, tiny sizes)."""
    def make(kind, instruction="lstm"):
        from agents.config import PolicyConfig

        c = PolicyConfig(type=kind, hidden_size=32, rgb_dim=16, depth_dim=16, attention_dim=16, prev_action_dim=8)
        c.depth.channels, c.depth.output_dim, c.depth.input_size = [8, 16], 16, 32
        c.instruction.type, c.instruction.embedding_dim, c.instruction.hidden_size = instruction, 16, 16
        return c

    return make


@pytest.fixture
def hand_written_episodes() -> dict:
    """A hand-written VLN-CE split shaped like R2R_VLNCE_v1-3 (a fresh copy per test)."""
    return copy.deepcopy(json.loads((TESTS / "data" / "hand_written_vlnce.json").read_text()))
