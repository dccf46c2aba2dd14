"""``vlnsim bench NAME``: run a benchmark script from ``bench/`` and print its figures.

The benchmarks live in the repository's ``bench/`` folder (they are scripts, not part
of the installed package); this command finds that folder next to the package in a
source checkout (``pip install -e .``) or under ``--bench-dir``.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from ..errors import ConfigError

BENCHES = {
    "render": "ray-cast renderer frames/s vs bare Embree rate, scene memory",
    "house": "procedural house generation time and triangle count (--gallery DIR)",
    "sim": "Simulator steps/s, geodesic queries/s, navigability build time, memory",
    "generate": "dataset generation time, statistics and example instructions",
    "env": "Gymnasium env steps/s, single and vectorised, vs bare Simulator.step",
    "train": "imitation-learning throughput with/without feature cache, eval throughput",
    "expert": "expert action quality: turns per forward step, zig-zags, path length vs geodesic",
    "navgrid": "navigability grid build time and bytes per cell (house, 100 m floor)",
    "ppo": "PPO PointNav: SR/SPL vs env steps and wall time, throughput vs bare vector env (long)",
    "vlp_retrieval": "image-text retrieval R@1/5/10 of pretrained vs random encoders (needs a pretrain run)",
    "discrete": "R2R navigation-graph statistics, R2R env steps/s, discrete agents' SR/SPL",
    "render_warp": "Warp renderer frames/s (CUDA when available) vs Embree",
}
# `vlnsim bench all` runs the quick ones; these need data, a trained model or a long run.
NOT_IN_ALL = {"ppo", "vlp_retrieval", "discrete", "render_warp"}


def _bench_dir(override: str | None) -> Path:
    candidates = [Path(override)] if override else [Path(__file__).resolve().parents[2] / "bench", Path.cwd() / "bench"]
    for c in candidates:
        if (c / "render.py").is_file():
            return c
    raise ConfigError(
        f"benchmark folder not found (looked in {', '.join(str(c) for c in candidates)}); "
        "run from a source checkout or pass --bench-dir PATH"
    )


def run_bench(name: str, argv: list[str], bench_dir: str | None = None) -> int:
    """Import ``bench/<name>.py`` and call its ``main(argv)``."""
    path = _bench_dir(bench_dir) / f"{name}.py"
    if not path.is_file():
        raise ConfigError(f"benchmark {name!r} has no script at {path}")
    spec = importlib.util.spec_from_file_location(f"vlnsim_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return int(module.main(argv) or 0)


def main(args: argparse.Namespace) -> int:
    names = [n for n in BENCHES if n not in NOT_IN_ALL] if args.name == "all" else [args.name]
    rc = 0
    for name in names:
        print(f"\n=== bench {name}: {BENCHES[name]} ===", flush=True)
        rc |= run_bench(name, list(args.rest), args.bench_dir)
    return rc


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="run a benchmark and print its figures",
        description="Run a benchmark from bench/. " + "; ".join(f"{k}: {v}" for k, v in BENCHES.items()),
    )
    p.add_argument("name", choices=[*BENCHES, "all"], help="which benchmark ('all' runs each with defaults)")
    p.add_argument("--bench-dir", default=None, help="folder holding the bench/*.py scripts")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments passed to the benchmark script")
    p.set_defaults(func=main)
