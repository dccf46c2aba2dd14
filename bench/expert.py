"""Expert (shortest-path follower) action quality: turns, zig-zags, path length, success.

Run as ``python bench/expert.py [--follower FILE] [--data DATA_ROOT --dataset NAME]
[--houses 30 --episodes-per-house 50 --seed 0] [--open-floor-pairs 40]``.

Two sources of expert trajectories, both measured the same way:

- **demo val_unseen** — the val_unseen houses of the demo dataset (``vlnsim demo``'s
  ``generate`` arguments by default), rebuilt in a temporary data root and rolled out by
  the ``_gt`` expert exactly as ``vlnsim generate`` does (``generate_house_paths``); with
  ``--data``, the stored ``val_unseen_gt.json.gz`` of an existing dataset is read instead.
- **open floor** — random start/goal pairs in box worlds (``vlnsim.nav.boxworld``): an
  empty 12 m x 10 m room and the same room with a few boxes, rolled out both by the
  re-planning follower (``exact``) and by the reference-path ``_gt`` expert.

Figures per source: turns per forward step and the minimum the path needs (the sum of
the reference path's heading changes, including the first one from the start heading,
divided by the turn angle, over the same forward steps); zig-zags per episode (TURN,
FORWARD, opposite TURN — the definition of the repository's before-stop hook); the
length of the walked trajectory over the geodesic distance; success (stopped within the
follower radius, geodesically).

``--follower FILE`` swaps in another ``follower.py`` (e.g. a copy of an older one) for
before/after comparisons: it is imported as a module of ``vlnsim.nav`` and replaces
``ShortestPathFollower`` for the run.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

if __package__ in (None, ""):  # allow `python bench/expert.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vlnsim.geometry import quat_from_yaw, wrap_angle, yaw_from_quat  # noqa: E402

TURN, LEFT, RIGHT, FORWARD = (2, 3), 2, 3, 1


def zigzags(actions: Sequence[int]) -> int:
    """TURN, FORWARD, opposite TURN triples (the before-stop hook's definition)."""
    a = list(actions)
    return sum(1 for i in range(len(a) - 2)
               if a[i] in TURN and a[i + 1] == FORWARD and a[i + 2] in TURN and a[i] != a[i + 2])


def min_turn_angle(path: Sequence[Sequence[float]], start_yaw: float) -> float:
    """Radians of heading change a walker of ``path`` needs: start heading to the first leg, then each corner."""
    pts = np.asarray(path, dtype=np.float64)[:, [0, 2]]
    legs = np.diff(pts, axis=0)
    legs = legs[np.linalg.norm(legs, axis=1) > 1e-6]
    if len(legs) == 0:
        return 0.0
    heads = np.arctan2(-legs[:, 0], -legs[:, 1])  # the simulator's yaw convention (forward = -z)
    total = abs(wrap_angle(heads[0] - start_yaw))
    total += sum(abs(wrap_angle(b - a)) for a, b in zip(heads[:-1], heads[1:]))
    return float(total)


def episode_figures(actions, locations, path, start_yaw, geodesic, success, turn_angle=15.0) -> Dict[str, float]:
    """Figures of one rolled-out episode."""
    locs = np.asarray(locations, dtype=np.float64)
    walked = float(np.linalg.norm(np.diff(locs, axis=0), axis=1).sum()) if len(locs) > 1 else 0.0
    return {"turns": sum(1 for a in actions if a in TURN), "forward": sum(1 for a in actions if a == FORWARD),
            "min_turns": min_turn_angle(path, start_yaw) / math.radians(turn_angle),
            "zigzags": zigzags(actions), "length_ratio": walked / max(geodesic, 1e-9), "success": float(success),
            "steps": len(actions)}


def summarise(name: str, rows: List[Dict[str, float]]) -> str:
    f = {k: np.array([r[k] for r in rows], dtype=np.float64) for k in rows[0]}
    fwd = max(f["forward"].sum(), 1)
    return (f"{name:<34} {len(rows):>5} {f['turns'].sum() / fwd:>10.3f} {f['min_turns'].sum() / fwd:>10.3f} "
            f"{f['zigzags'].mean():>9.2f} {f['length_ratio'].mean():>8.3f} {f['length_ratio'].max():>8.3f} "
            f"{f['success'].mean() * 100:>7.1f}% {f['steps'].mean():>7.1f}")


HEADER = (f"{'source':<34} {'eps':>5} {'turn/fwd':>10} {'min/fwd':>10} {'zz/ep':>9} {'len/geo':>8} "
          f"{'max':>8} {'success':>8} {'steps':>7}")


def use_follower(path: Optional[str]) -> None:
    """Replace ``vlnsim.nav.follower.ShortestPathFollower`` with the one in ``path``."""
    if not path:
        return
    import vlnsim.nav.follower as fmod

    spec = importlib.util.spec_from_file_location("vlnsim.nav._bench_follower", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    fmod.ShortestPathFollower = mod.ShortestPathFollower


# ---------------------------------------------------------------------- demo data
def demo_generated(houses: int, episodes_per_house: int, seed: int, split: str) -> List[Dict[str, float]]:
    """Roll the ``_gt`` expert on the ``split`` houses of a dataset as ``vlnsim generate`` builds it."""
    from vlnsim.episodes.generate import GenerationConfig, generate_house_paths, plan_jobs

    cfg = GenerationConfig(num_houses=houses, episodes_per_house=episodes_per_house, seed=seed)
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for job in plan_jobs(cfg, root):
            if job.role != split and not (split in ("train", "val_seen") and job.role == "train"):
                continue
            records, _ = generate_house_paths(job)
            for r in records:
                if r.split != split:
                    continue
                yaw = yaw_from_quat(r.start_rotation)
                d_end = _geodesic_end(root, r.scene_id, r.gt_locations[-1], r.goal)
                rows.append(episode_figures(r.gt_actions, r.gt_locations, r.reference_path, yaw,
                                            r.geodesic_distance, d_end <= cfg.follower_radius + 0.01))
    return rows


_SIMS: Dict[str, object] = {}


def _geodesic_end(root, scene_id, end, goal) -> float:
    from vlnsim.scene.io import load_scene
    from vlnsim.simulator import Simulator

    key = f"{root}/{scene_id}"
    sim = _SIMS.get(key)
    if sim is None:
        _SIMS.clear()
        sim = _SIMS[key] = Simulator(load_scene(Path(root) / "scene_datasets" / scene_id), sensors=[])
    return float(sim.pathfinder.geodesic_distance(end, goal))


def demo_stored(data_root: str, dataset: str, split: str) -> List[Dict[str, float]]:
    """Figures of the stored ``_gt`` actions of an existing dataset (one per trajectory)."""
    from vlnsim.episodes.io import load_gt, load_split, split_path

    ds = load_split(data_root, dataset, split)
    gt = load_gt(split_path(data_root, dataset, split, gt=True))
    rows, seen = [], set()
    for ep in ds.episodes:
        if ep.trajectory_id in seen:
            continue
        seen.add(ep.trajectory_id)
        rec = gt[str(ep.episode_id)]
        goal = ep.goals[0].position
        d_end = _geodesic_end(str(Path(data_root)), ep.scene_id, rec["locations"][-1], goal)
        rows.append(episode_figures(rec["actions"], rec["locations"], ep.reference_path,
                                    yaw_from_quat(ep.start_rotation), float(ep.info["geodesic_distance"]),
                                    d_end <= 0.5 + 0.01))
    return rows


# ---------------------------------------------------------------------- open floor
def open_floor_world(boxes: bool):
    from vlnsim.nav.boxworld import walled_room

    w = walled_room(0, 0, 12, 10)
    if boxes:
        for lo, hi in (((2, 0, 2), (3, 0.8, 3)), ((8, 0, 7), (9.5, 1.8, 7.5)), ((4, 0, 6.5), (5, 2.0, 7.7)),
                       ((6.5, 0, 2.5), (7.5, 1.0, 4.0))):
            w.add(lo, hi)
    return w


def open_floor(pairs: int, seed: int, boxes: bool, exact: bool, min_dist: float = 3.0) -> List[Dict[str, float]]:
    """Expert rollouts between random pairs of a box world (re-planning follower when ``exact``)."""
    from vlnsim.episodes.expert import run_expert
    from vlnsim.simulator import Simulator

    sim = Simulator(open_floor_world(boxes).to_scene(), sensors=[])
    pf = sim.pathfinder
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < pairs:
        a, b = pf.random_navigable_point(rng), pf.random_navigable_point(rng)
        path = pf.find_path(a, b)
        geo = pf.geodesic_distance(a, b)
        if not path or geo < min_dist:
            continue
        yaw = float(rng.uniform(-math.pi, math.pi))
        locs, acts, reached = run_expert(sim, path, a, quat_from_yaw(yaw).tolist(), b, 0.5, 500, exact=exact)
        rows.append(episode_figures(acts, locs, path, yaw, geo, reached))
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--follower", default=None, help="a follower.py to measure instead of the current one")
    ap.add_argument("--data", default=None, help="read the stored _gt file of this data root instead of rebuilding")
    ap.add_argument("--dataset", default="procgen_r2r")
    ap.add_argument("--split", default="val_unseen")
    ap.add_argument("--houses", type=int, default=30, help="demo dataset houses (default: the demo's 30)")
    ap.add_argument("--episodes-per-house", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--open-floor-pairs", type=int, default=40, help="pairs per open-floor world (0: skip)")
    ap.add_argument("--no-demo", action="store_true", help="only the open-floor worlds")
    args = ap.parse_args(argv)
    use_follower(args.follower)
    import vlnsim.nav.follower as fmod

    print(f"follower: {sys.modules[fmod.ShortestPathFollower.__module__].__file__}")
    print(HEADER)
    print("-" * len(HEADER))
    t0 = time.perf_counter()
    if not args.no_demo:
        if args.data:
            rows = demo_stored(args.data, args.dataset, args.split)
            print(summarise(f"stored {args.dataset} {args.split}", rows), flush=True)
        else:
            rows = demo_generated(args.houses, args.episodes_per_house, args.seed, args.split)
            print(summarise(f"demo {args.split} (_gt expert)", rows), flush=True)
    if args.open_floor_pairs > 0:
        for boxes in (False, True):
            for exact in (True, False):
                rows = open_floor(args.open_floor_pairs, args.seed, boxes, exact)
                name = f"{'boxes' if boxes else 'empty'} room, {'re-planning' if exact else '_gt expert'}"
                print(summarise(name, rows), flush=True)
    print(f"[{time.perf_counter() - t0:.0f} s]  turn/fwd: turns per forward step; min/fwd: minimum turns the "
          "path needs per forward step; zz/ep: zig-zags per episode; len/geo: walked length / geodesic (mean, max)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
