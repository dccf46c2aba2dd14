"""Vector envs over ``gymnasium.vector`` with disjoint episode shards per worker.

Worker ``i`` of ``num_envs`` serves episodes ``i::num_envs`` of the configured shard, so
no episode is run twice. Every worker's env is wrapped so that an exception raised in
it carries the worker index in its message; ``AsyncVectorEnv`` re-raises it in the main
process with that message (gymnasium rebuilds it as ``type(exc)(exc)``).
"""
from __future__ import annotations

from typing import Any, Optional

import gymnasium
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

from vlnsim.errors import ConfigError

from .config import EnvConfig, load_config
from .episode_source import EpisodeSource, load_dataset


class EnvWorkerError(RuntimeError):
    """An exception in vector-env worker ``index`` whose own type cannot carry the index."""


def _with_index(exc: BaseException, index: int) -> BaseException:
    msg = f"vector env index {index}: {type(exc).__name__}: {exc}"
    try:
        new = type(exc)(msg)
        if str(new) == msg:
            return new
    except Exception:  # exception types with other constructors fall back below
        pass
    return EnvWorkerError(msg)


class WorkerIndexWrapper(gymnasium.Wrapper):
    """Re-raises exceptions from the wrapped env with ``vector env index {i}`` in the message."""

    def __init__(self, env: gymnasium.Env, index: int):
        super().__init__(env)
        self.index = index

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise _with_index(exc, self.index) from exc

    def reset(self, **kwargs):
        return self._call(self.env.reset, **kwargs)

    def step(self, action):
        return self._call(self.env.step, action)

    def render(self):
        return self._call(self.env.render)


class EnvFactory:
    """Picklable callable building worker ``index``'s env (the vector env's ``env_fn``)."""

    def __init__(self, config: EnvConfig, index: int, render_mode: Optional[str] = None):
        self.config = config
        self.index = index
        self.render_mode = render_mode

    def __call__(self) -> gymnasium.Env:
        from . import ENV_IDS

        try:
            env = gymnasium.make(ENV_IDS[self.config.task], config=self.config, render_mode=self.render_mode)
        except Exception as exc:
            raise _with_index(exc, self.index) from exc
        return WorkerIndexWrapper(env, self.index)


def worker_configs(config: EnvConfig, num_envs: int) -> list:
    """Per-worker configs: worker i gets shard ``shard_index + num_shards * i`` of ``num_shards * num_envs``."""
    return [
        config.replace(shard_index=config.shard_index + config.num_shards * i, num_shards=config.num_shards * num_envs)
        for i in range(num_envs)
    ]


def make_vec_env(
    config: Any,
    num_envs: int,
    asynchronous: bool = True,
    render_mode: Optional[str] = None,
    autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
    context: Optional[str] = None,
    **overrides: Any,
) -> gymnasium.vector.VectorEnv:
    """A ``num_envs``-worker vector env (``AsyncVectorEnv`` or ``SyncVectorEnv``).

    Args:
        config: ``EnvConfig``, dict or YAML path; ``overrides`` are applied on top.
        num_envs: workers; each gets a disjoint shard of the episodes.
        asynchronous: one process per worker (``AsyncVectorEnv``) or all in this one.
        autoreset_mode: gymnasium's autoreset mode (default ``NEXT_STEP``: the step
            after an episode ends resets that worker and ignores its action).
        context: multiprocessing start method for ``AsyncVectorEnv`` (None = default).
    """
    cfg = load_config(config, **overrides)
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ConfigError(f"num_envs={num_envs!r}; expected a positive integer")
    available = len(EpisodeSource(cfg, load_dataset(cfg)))
    if num_envs > available:
        raise ConfigError(f"num_envs={num_envs} but the split shard holds only {available} episodes; expected num_envs <= {available}")
    fns = [EnvFactory(c, i, render_mode) for i, c in enumerate(worker_configs(cfg, num_envs))]
    if asynchronous:
        return AsyncVectorEnv(fns, context=context, autoreset_mode=autoreset_mode)
    return SyncVectorEnv(fns, autoreset_mode=autoreset_mode)
