"""A vector-env worker process killed mid-run: a clear error naming it, nothing left behind.

Real ``AsyncVectorEnv`` worker processes on the session's tiny dataset (16x16 frames);
the workers are killed with real signals. Every test has a timeout: a hang fails it.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import time

import numpy as np
import pytest
from gymnasium.error import ClosedEnvironmentError

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def vec(tiny_dataset):
    import envs

    cfg = envs.load_config(dict(data_root=str(tiny_dataset.root), dataset=tiny_dataset.name, split="train",
                                width=16, height=16))
    v = envs.make_vec_env(cfg, num_envs=3, asynchronous=True)
    v.reset(seed=0)
    v.step(np.array([1, 1, 1]))
    yield v
    if not v.closed:
        v.close(terminate=True)


def _assert_nothing_left(vec, procs):
    assert vec.closed
    assert not any(p.is_alive() for p in procs)
    assert multiprocessing.active_children() == []
    for p in procs:  # reaped, not zombies: the pid is gone
        with pytest.raises(ProcessLookupError):
            os.kill(p.pid, 0)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_worker_killed_between_steps(vec, sig):
    from envs.vector import EnvWorkerDiedError
    from vlnsim.errors import VlnsimError

    procs = list(vec.processes)
    victim = procs[1]
    os.kill(victim.pid, sig)
    victim.join(timeout=10)  # the death has happened before the parent's next call
    t0 = time.monotonic()
    with pytest.raises(EnvWorkerDiedError) as info:
        vec.step(np.array([1, 1, 1]))
    assert time.monotonic() - t0 < 10
    assert str(info.value) == (f"vector env worker 1 (pid {victim.pid}) was killed by {sig.name}; "
                               "closed the other 2 of 3 workers")
    assert isinstance(info.value, VlnsimError)  # the CLI prints it as one line, exit 2
    _assert_nothing_left(vec, procs)
    vec.close()  # closing again is harmless
    with pytest.raises(ClosedEnvironmentError):
        vec.step(np.array([1, 1, 1]))


def test_worker_killed_while_the_parent_waits_for_its_step(vec):
    from envs.vector import EnvWorkerDiedError

    procs = list(vec.processes)
    os.kill(procs[2].pid, signal.SIGSTOP)  # so that it cannot answer before it is killed
    vec.step_async(np.array([1, 1, 1]))
    os.kill(procs[2].pid, signal.SIGKILL)
    with pytest.raises(EnvWorkerDiedError, match=rf"^vector env worker 2 \(pid {procs[2].pid}\) was killed by SIGKILL; "
                                                 r"closed the other 2 of 3 workers$"):
        vec.step_wait(timeout=30)
    _assert_nothing_left(vec, procs)


def test_worker_killed_during_reset(vec):
    from envs.vector import EnvWorkerDiedError

    procs = list(vec.processes)
    os.kill(procs[0].pid, signal.SIGSTOP)
    vec.reset_async(seed=1)
    os.kill(procs[0].pid, signal.SIGKILL)
    with pytest.raises(EnvWorkerDiedError, match=r"^vector env worker 0 "):
        vec.reset_wait(timeout=30)
    _assert_nothing_left(vec, procs)


def test_close_after_a_worker_died_warns_and_reaps_the_rest(vec):
    procs = list(vec.processes)
    os.kill(procs[0].pid, signal.SIGKILL)
    procs[0].join(timeout=10)
    with pytest.warns(RuntimeWarning, match=r"vector env worker 0 \(pid \d+\) was killed by SIGKILL"):
        vec.close()
    _assert_nothing_left(vec, procs)


def test_healthy_vector_env_still_steps_and_closes(vec):
    procs = list(vec.processes)
    obs, rew, term, trunc, info = vec.step(np.array([2, 3, 1]))
    assert obs["depth"].shape[0] == 3 and rew.shape == (3,)
    vec.close()
    _assert_nothing_left(vec, procs)
