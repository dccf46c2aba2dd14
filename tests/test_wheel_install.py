"""The built wheel installs into a fresh virtualenv and runs from an empty directory.

Builds the wheel from a copy of the source tree, creates a new virtualenv, installs the
wheel there with ``pip install --no-index`` and runs ``vlnsim configs``, a tiny
``generate`` -> ``train --max-steps`` -> ``eval`` -> ``render-rollout`` -> ``report``
cycle and a shrunk ``vlnsim demo`` from an empty directory, with built-in config names
(no ``configs/`` next to them).

Offline: the dependencies (torch==2.13.0 CPU and the rest) are not downloaded again.
The new virtualenv (created ``--without-pip``) sees them through a ``.pth`` file naming
a directory of links to this project's installed packages, every one except vlnsim's
own (its editable install); ``pip install --no-index`` then finds each requirement of
the wheel already satisfied, or fails naming the one that is missing. The README's "Installing the
wheel" section gives the same commands.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOP_LEVEL_SKIP = {".git", ".venv", "data", "runs", "build", "dist", "tests", "bench", "docs", ".pytest_cache", ".gl",
                  "view_out", "vlnsim.egg-info"}


def _copy_source(dest: Path) -> None:
    """The files a wheel is built from (links kept as links: vlnsim/configs -> ../configs)."""
    def ignore(d, names):
        skip = {"__pycache__", ".pytest_cache"}
        if Path(d).resolve() == REPO:
            skip |= TOP_LEVEL_SKIP
        return [n for n in names if n in skip or n.endswith(".egg-info")]

    shutil.copytree(REPO, dest, symlinks=True, ignore=ignore)


def _deps_view(dest: Path) -> Path:
    """A directory of links to this environment's packages, vlnsim's own install left out."""
    site = Path(sysconfig.get_paths()["purelib"])
    dest.mkdir()
    for entry in site.iterdir():
        n = entry.name.lower()
        if n.startswith(("vlnsim", "__editable__", "_virtualenv")) or n.endswith(".pth") or n == "__pycache__":
            continue
        (dest / entry.name).symlink_to(entry)
    return dest


def _run(cmd, cwd, env, timeout=900):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


@pytest.mark.slow
def test_wheel_installs_in_a_clean_virtualenv_and_runs_generate_train_eval_demo(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env.update(OMP_NUM_THREADS="1", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", HF_HUB_OFFLINE="1")

    # 1. build the wheel from a copy of the source (the shared checkout stays untouched)
    src = tmp_path / "src"
    _copy_source(src)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "dist", src],
         tmp_path, env)
    wheels = list((tmp_path / "dist").glob("vlnsim-*.whl"))
    assert len(wheels) == 1
    import zipfile

    names = zipfile.ZipFile(wheels[0]).namelist()
    shipped = sorted(n.split("/")[-1] for n in names if n.startswith("vlnsim/configs/"))
    assert shipped == sorted(p.name for p in (REPO / "configs").glob("*.yaml"))
    assert any(n.startswith("agents/report/templates/") for n in names)
    assert any(n == "agents/report/static/report.js" for n in names)
    assert not any(n.startswith(("tests/", "data/", "runs/")) for n in names)

    # 2. a fresh virtualenv that sees the already-installed dependencies, not vlnsim
    venv = tmp_path / "venv"
    # --without-pip: the venv's own old pip/setuptools would shadow the ones torch requires;
    # pip (like every dependency) then comes from the linked directory
    _run([sys._base_executable, "-m", "venv", "--without-pip", venv], tmp_path, env)
    vpy = venv / "bin" / "python"
    vsite = Path(_run([vpy, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path, env).strip())
    (vsite / "vlnsim_test_deps.pth").write_text(str(_deps_view(tmp_path / "deps")) + "\n")
    _run([vpy, "-m", "pip", "install", "--no-index", "-q", wheels[0]], tmp_path, env)

    # 3. from an empty directory: the installed copy, the built-in configs, a tiny cycle
    work = tmp_path / "empty"
    work.mkdir()
    vlnsim = venv / "bin" / "vlnsim"
    where = _run([vpy, "-c", "import vlnsim, agents, envs, torch; print(vlnsim.__file__, agents.__file__, envs.__file__, torch.__version__)"],
                 work, env).split()
    assert all(Path(p).is_relative_to(venv) for p in where[:3]), where
    assert where[3].startswith("2.13.0")
    listing = _run([vlnsim, "configs"], work, env)
    assert "il_cma_demo_cpu" in listing and str(venv) in listing
    _run([vlnsim, "generate", "--name", "wheel_tiny", "--houses", "4", "--episodes-per-house", "3", "--rooms", "3",
          "--max-distance", "10", "--quiet"], work, env)
    _run([vlnsim, "train", "--config", "il_cma_demo_cpu", "--max-steps", "2", "--run-dir", "runs/tiny", "--no-progress",
          "--set", "env.dataset=wheel_tiny", "trainer.num_envs=1", "trainer.episodes_per_iteration=2",
          "trainer.max_collect_steps=30", "env.max_episode_steps=30", "eval.split=null"], work, env)
    assert list((work / "runs" / "tiny").rglob("*.safetensors"))
    _run([vlnsim, "eval", "--ckpt", "runs/tiny", "--split", "val_unseen", "--episodes", "2", "--out", "runs/eval",
          "--no-progress"], work, env)
    assert (work / "runs" / "eval" / "metrics.json").is_file()
    _run([vlnsim, "render-rollout", "--agent", "expert", "--config", "vln_r2r", "--dataset", "wheel_tiny", "--episodes", "1",
          "--width", "32", "--height", "32", "--out", "runs/videos"], work, env)
    assert list((work / "runs" / "videos").glob("*.mp4"))
    out = _run([vlnsim, "report", "runs", "--out", "runs/report"], work, env)
    assert (work / "runs" / "report" / "index.html").is_file() and "index.html" in out
    # the demo (its default config is a built-in one), on the same tiny dataset, shrunk to seconds
    out = _run([vlnsim, "demo", "--dataset", "wheel_tiny", "--eval-episodes", "2", "--rollouts", "1",
                *[a for kv in ("trainer.iterations=1", "trainer.episodes_per_iteration=2", "trainer.epochs_per_iteration=1",
                               "trainer.num_envs=1", "trainer.max_collect_steps=30", "env.max_episode_steps=30",
                               "eval.split=null") for a in ("--train-set", kv)]], work, env)
    assert (work / "runs" / "demo" / "report" / "index.html").is_file() and "runs/demo/report/index.html" in out
    assert sorted(p.name for p in work.iterdir()) == ["data", "runs"]
