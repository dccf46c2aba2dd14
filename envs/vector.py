"""Vector envs over ``gymnasium.vector`` with disjoint episode shards per worker.

Worker ``i`` of ``num_envs`` serves episodes ``i::num_envs`` of the configured shard, so
no episode is run twice. Every worker's env is wrapped so that an exception raised in
it carries the worker index in its message; ``AsyncVectorEnv`` re-raises it in the main
process with that message (gymnasium rebuilds it as ``type(exc)(exc)``).

A worker process that dies (killed, out of memory, a crash in native code) cannot send
an exception: gymnasium then fails with a bare ``BrokenPipeError``/``EOFError`` and
leaves the other workers running. ``VlnAsyncVectorEnv`` checks its workers around every
call instead, terminates and joins the others, and raises ``EnvWorkerDiedError`` naming
the worker, its pid and how it ended.
"""
from __future__ import annotations

import multiprocessing.connection
import signal
import time
import warnings
from typing import Any, List, Optional

import gymnasium
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv
from gymnasium.vector.async_vector_env import AsyncState

from vlnsim.errors import ConfigError, VlnsimError

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


class EnvWorkerDiedError(VlnsimError, RuntimeError):
    """A vector-env worker process ended without being closed (the others were closed)."""


def _how_it_ended(exitcode: Optional[int]) -> str:
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


class VlnAsyncVectorEnv(AsyncVectorEnv):
    """``AsyncVectorEnv`` that reports a dead worker by index and closes the rest.

    Every call that talks to the workers first checks that they are alive and turns a
    broken pipe into ``EnvWorkerDiedError`` naming the worker; before raising, all other
    workers are terminated and joined and the vector env is closed, so nothing hangs and
    no process is left behind.
    """

    def _dead_workers(self, wait: float = 0.0) -> List[int]:
        """Indices of workers that have exited (waiting up to ``wait`` s for the first one).

        A broken pipe can be seen a moment before the dying process can be reaped, hence
        the short poll.
        """
        deadline = time.monotonic() + wait
        while True:
            dead = [i for i, p in enumerate(self.processes) if not p.is_alive()]
            if dead or time.monotonic() >= deadline:
                return dead
            multiprocessing.connection.wait([p.sentinel for p in self.processes], timeout=0.01)
            time.sleep(0.005)

    def _abort(self, dead: List[int]) -> EnvWorkerDiedError:
        """Terminate and join every worker, close the pipes; the error to raise."""
        for p in self.processes:
            if p.is_alive():
                p.terminate()
        for p in self.processes:
            p.join(timeout=5.0)
            if p.is_alive():
                p.kill()
                p.join()
        for pipe in self.parent_pipes:
            if pipe is not None:
                pipe.close()
        self._state = AsyncState.DEFAULT
        self.closed = True
        first = self.processes[dead[0]]
        others = f"; workers {dead[1:]} also died" if len(dead) > 1 else ""
        return EnvWorkerDiedError(
            f"vector env worker {dead[0]} (pid {first.pid}) {_how_it_ended(first.exitcode)}{others}; "
            f"closed the other {self.num_envs - len(dead)} of {self.num_envs} workers"
        )

    def _guarded(self, fn, *args, **kwargs):
        if not self.closed:
            dead = self._dead_workers()
            if dead:
                raise self._abort(dead)
        try:
            return fn(*args, **kwargs)
        except (BrokenPipeError, ConnectionResetError, EOFError) as exc:
            dead = self._dead_workers(wait=2.0)
            if not dead:
                raise
            raise self._abort(dead) from exc

    def reset_async(self, *args, **kwargs):
        return self._guarded(super().reset_async, *args, **kwargs)

    def reset_wait(self, *args, **kwargs):
        return self._guarded(super().reset_wait, *args, **kwargs)

    def step_async(self, *args, **kwargs):
        return self._guarded(super().step_async, *args, **kwargs)

    def step_wait(self, *args, **kwargs):
        return self._guarded(super().step_wait, *args, **kwargs)

    def call_async(self, *args, **kwargs):
        return self._guarded(super().call_async, *args, **kwargs)

    def call_wait(self, *args, **kwargs):
        return self._guarded(super().call_wait, *args, **kwargs)

    def set_attr(self, *args, **kwargs):
        return self._guarded(super().set_attr, *args, **kwargs)

    def close_extras(self, timeout: Optional[float] = None, terminate: bool = False) -> None:
        """Close the workers; with one already dead, terminate the others instead of asking them."""
        dead = self._dead_workers()
        if dead:
            warnings.warn(str(self._abort(dead)), RuntimeWarning, stacklevel=3)
            return
        try:
            super().close_extras(timeout=timeout, terminate=terminate)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            self._abort(self._dead_workers(wait=2.0) or [0])


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
    """A ``num_envs``-worker vector env (``VlnAsyncVectorEnv`` or ``SyncVectorEnv``).

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
        return VlnAsyncVectorEnv(fns, context=context, autoreset_mode=autoreset_mode)
    return SyncVectorEnv(fns, autoreset_mode=autoreset_mode)
