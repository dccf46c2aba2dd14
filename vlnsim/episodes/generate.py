"""Procedural VLN datasets: houses, sampled episodes, expert actions, instructions.

``generate_dataset`` builds procedural houses (``vlnsim.scene.house``), saves them under
``<data_root>/scene_datasets/procgen/house_XXXXX/``, samples start/goal pairs on each
house's navigable floor, plans the reference (shortest) path, rolls out the
``ShortestPathFollower`` expert in a sensorless ``Simulator`` for the ``_gt`` file
(``vlnsim.episodes.expert``), has the template
speaker write three instructions per path, and writes the VLN-CE splits plus a word
vocabulary and a sub-word ``tokenizer.json``.

Splits (as R2R): houses are divided into train / val_unseen / test groups (disjoint);
val_seen holds new paths in train houses. Every random choice of house ``i`` is drawn
from ``default_rng([seed, house_seed])`` so results do not depend on ``workers``.

Houses are named by their seed (``house_<seed * 10000 + i>``) and shared by datasets
in the same data root: an existing house file with the same content is reused, one
with different content (other ``--rooms``, another generator version) is never
overwritten (``SceneFileError``). ``name`` and ``version`` must be plain directory
names, so nothing is written outside ``<data_root>``.
"""
from __future__ import annotations

import math
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import ConfigError, GenerationError
from .expert import run_expert
from .io import dataset_dir, save, save_gt, write_json
from .model import Episode, EpisodeDataset, Goal, Instruction
from .vocab import Vocabulary, save_tokenizer, train_tokenizer

PathLike = Union[str, os.PathLike]
SCENE_DATASET = "procgen"
MAX_EXPERT_STEPS = 500


@dataclass
class GenerationConfig:
    """Dataset generation settings.

    Attributes:
        num_houses: houses to build (>= 3 gives all four splits; 1 gives train/val_seen,
            2 adds val_unseen).
        episodes_per_house: episodes (path-instruction pairs) per house; paths per house
            is ``ceil(episodes_per_house / instructions_per_path)``.
        seed: master seed; house ``i`` gets house seed ``seed * 10000 + i``.
        min_distance, max_distance: geodesic start-goal distance range (m).
        num_rooms: rooms per house, or None for the generator's seeded default.
        instructions_per_path: instructions (episodes) per reference path (R2R: 3).
        goal_radius: success radius stored in ``goals[].radius``.
        follower_radius: the expert stops within this distance of the goal (m).
        exact_expert: re-plan the follower's path at every step instead of following
            the reference path (see ``vlnsim.episodes.expert``; much slower).
        val_seen_fraction: share of a train house's paths that go to val_seen.
        unseen_fraction: share of houses for val_unseen and for test (each).
        max_start_attempts: start points tried per path before giving up.
        goal_candidates: goal points drawn per start point.
        eval_per_start: candidate goals whose geodesic distance is measured per start.
        target_distance: preferred geodesic distance (m); each pair aims at a draw from
            N(target, 3) within the range; houses cap long draws, so the mean lands
            near R2R's ~10 m.
        extra_train_houses: houses added to the train split after the ``num_houses``
            split houses (indices ``num_houses`` ...). Every house is drawn from its own
            seed, so a dataset grown this way keeps the val_seen, val_unseen and test
            episodes of the ``num_houses`` dataset exactly, and trains on more houses.
        instruction_style: the speaker's style, "r2r" (R2R-like length, ~29 words) or
            "verbose" (every clause, ~54 words); see ``vlnsim.episodes.speaker``.
        vocab_min_count: minimum train-split count for a word to enter the vocabulary.
        tokenizer_vocab_size: WordPiece vocabulary size.
    """

    num_houses: int = 30
    episodes_per_house: int = 50
    seed: int = 0
    min_distance: float = 4.0
    max_distance: float = 20.0
    num_rooms: Optional[int] = None
    instructions_per_path: int = 3
    goal_radius: float = 3.0
    follower_radius: float = 0.5
    exact_expert: bool = False
    val_seen_fraction: float = 0.15
    unseen_fraction: float = 0.15
    max_start_attempts: int = 40
    goal_candidates: int = 32
    eval_per_start: int = 3
    target_distance: float = 12.5
    extra_train_houses: int = 0
    instruction_style: str = "r2r"
    vocab_min_count: int = 1
    tokenizer_vocab_size: int = 800

    def __post_init__(self) -> None:
        if not (isinstance(self.num_houses, int) and self.num_houses >= 1):
            raise ConfigError(f"num_houses={self.num_houses!r}; expected an integer >= 1")
        if not (isinstance(self.episodes_per_house, int) and self.episodes_per_house >= 1):
            raise ConfigError(f"episodes_per_house={self.episodes_per_house!r}; expected an integer >= 1")
        if not (0 <= self.min_distance < self.max_distance) or not math.isfinite(self.max_distance):
            raise GenerationError(f"distance range [{self.min_distance}, {self.max_distance}] m is empty; "
                                  "expected 0 <= min_distance < max_distance < inf")
        if not (isinstance(self.instructions_per_path, int) and self.instructions_per_path >= 1):
            raise ConfigError(f"instructions_per_path={self.instructions_per_path!r}; expected an integer >= 1")
        if not (isinstance(self.extra_train_houses, int) and self.extra_train_houses >= 0):
            raise ConfigError(f"extra_train_houses={self.extra_train_houses!r}; expected an integer >= 0")
        from .speaker import STYLES

        if self.instruction_style not in STYLES:
            raise ConfigError(f"instruction_style={self.instruction_style!r}; expected one of {', '.join(STYLES)}")


@dataclass
class PathRecord:
    """One sampled path of one house, with its instructions and expert trajectory."""

    split: str
    house_index: int
    scene_id: str
    start_position: List[float]
    start_rotation: List[float]
    goal: List[float]
    reference_path: List[List[float]]
    geodesic_distance: float
    texts: List[str]
    landmark_ids: List[List[int]]
    stop_object_ids: List[Optional[int]]
    gt_locations: List[List[float]]
    gt_actions: List[int]
    rooms: Tuple[Optional[int], Optional[int]]


@dataclass
class HouseJob:
    index: int
    house_seed: int
    role: str  # "train" (train + val_seen paths) or an unseen split name
    num_paths: int
    num_val_seen: int
    data_root: str
    config: Dict[str, Any] = field(default_factory=dict)


def house_name(house_seed: int) -> str:
    return f"house_{house_seed:05d}"


def scene_id_of(house_seed: int) -> str:
    """``procgen/house_XXXXX/house_XXXXX.glb`` (relative to ``<data_root>/scene_datasets``)."""
    n = house_name(house_seed)
    return f"{SCENE_DATASET}/{n}/{n}.glb"


def assign_houses(num_houses: int, unseen_fraction: float) -> List[str]:
    """Role of each house index: "train", "val_unseen" or "test" (disjoint groups)."""
    n_val = 0 if num_houses < 2 else max(1, int(round(unseen_fraction * num_houses)))
    n_test = 0 if num_houses < 3 else max(1, int(round(unseen_fraction * num_houses)))
    n_train = num_houses - n_val - n_test
    return ["train"] * n_train + ["val_unseen"] * n_val + ["test"] * n_test


def plan_jobs(cfg: GenerationConfig, data_root: PathLike) -> List[HouseJob]:
    """Per-house work items (pure function of the config)."""
    paths_per_house = math.ceil(cfg.episodes_per_house / cfg.instructions_per_path)
    jobs = []
    roles = assign_houses(cfg.num_houses, cfg.unseen_fraction) + ["train"] * cfg.extra_train_houses
    for i, role in enumerate(roles):
        n_vs = 0
        if role == "train" and i < cfg.num_houses:  # extra train houses add no val_seen paths
            n_vs = max(1, int(round(cfg.val_seen_fraction * paths_per_house))) if paths_per_house > 1 else 0
        jobs.append(HouseJob(i, cfg.seed * 10000 + i, role, paths_per_house, n_vs, str(data_root), asdict(cfg)))
    return jobs


# ---------------------------------------------------------------------- per house
def reference_length(path: Sequence[Sequence[float]]) -> float:
    """Length of a planned path, computed as ``PathFinder.geodesic_distance`` does."""
    pts = np.asarray(path, dtype=np.float64)
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()) if len(pts) > 1 else 0.0


def sample_pair(pf, scene, rng: np.random.Generator, cfg: GenerationConfig, where: str):
    """Sample (start, goal, geodesic distance, shortest path) with the distance in range, preferring different rooms.

    Candidates are screened by straight-line distance (a lower bound of the geodesic),
    then measured towards the start so one distance field from the start serves them
    all; the chosen pair is then planned start -> goal, as stored. Bounded:
    ``max_start_attempts`` starts x ``goal_candidates`` goals; raises
    ``GenerationError`` naming the constraint and the largest distance seen.
    """
    best_seen = 0.0
    fallback = None
    for _ in range(cfg.max_start_attempts):
        start = np.asarray(pf.random_navigable_point(rng), dtype=np.float64)
        goals = np.stack([np.asarray(pf.random_navigable_point(rng), dtype=np.float64)
                          for _ in range(cfg.goal_candidates)])
        eu = np.linalg.norm((goals - start)[:, [0, 2]], axis=1)
        r0 = scene.room_at(start[0], start[2])
        other = np.array([r0 is None or (scene.room_at(g[0], g[2]) or r0).id != r0.id for g in goals])
        # R2R paths average ~10 m while uniform pairs in a house are shorter: aim each
        # pair at a target length; geodesic ~ 1.25 x straight-line distance indoors
        target = rng.normal(cfg.target_distance, 3.0)
        ok = np.flatnonzero(eu <= cfg.max_distance)
        ok = ok[np.argsort(np.abs(1.25 * eu[ok] - target), kind="stable")]
        ok = np.concatenate([ok[other[ok]], ok[~other[ok]]])  # other rooms first
        found = []
        for j in ok[: cfg.eval_per_start]:
            d = float(pf.geodesic_distance(goals[j], start))
            if math.isfinite(d):
                best_seen = max(best_seen, d)
            if cfg.min_distance <= d <= cfg.max_distance:
                found.append((not other[j], abs(d - target), int(j)))
        for same_room, _, j in sorted(found):
            # the stored path and distance are planned start -> goal (the direction episodes use)
            path = pf.find_path(start, goals[j])
            d = reference_length(path)
            if not (len(path) >= 2 and cfg.min_distance <= d <= cfg.max_distance):
                continue
            if not same_room:
                return start, goals[j], d, path
            if fallback is None:  # same room: used only if no cross-room pair turns up
                fallback = (start, goals[j], d, path)
            break
    if fallback is not None:
        return fallback
    raise GenerationError(
        f"{where}: no start/goal pair with geodesic distance in [{cfg.min_distance}, {cfg.max_distance}] m after "
        f"{cfg.max_start_attempts} start points (largest distance seen {best_seen:.2f} m); "
        "widen --min-distance/--max-distance or use more rooms")


def generate_house_paths(job: HouseJob) -> Tuple[List[PathRecord], Dict[str, Any]]:
    """Build, save and annotate one house (runs in a worker process when ``workers > 1``)."""
    from .. import geometry
    from ..scene.house import generate_house
    from ..scene.io import load_scene, save_scene
    from ..simulator import Simulator
    from .speaker import Speaker, SpeakerConfig

    cfg = GenerationConfig(**job.config)
    t0 = time.perf_counter()
    built = generate_house(job.house_seed, num_rooms=cfg.num_rooms)
    scene_id = scene_id_of(job.house_seed)
    scene_path = Path(job.data_root) / "scene_datasets" / scene_id
    # never replace another dataset's house of the same name with a different one (SceneFileError)
    save_scene(built, scene_path, overwrite=False)
    # plan on the scene as environments will load it (GLB round trip), so the stored
    # distances and navigability are exactly what they see
    scene = load_scene(scene_path)
    sim = Simulator(scene, sensors=[])
    pf = sim.pathfinder
    speaker = Speaker(scene, SpeakerConfig(style=cfg.instruction_style))
    rng = np.random.default_rng([cfg.seed, job.house_seed])
    # the speaker draws from its own stream, so the paths do not depend on the wording
    # (datasets in two styles share their episodes exactly)
    speaker_rng = np.random.default_rng([cfg.seed, job.house_seed, 1])
    where = f"house {house_name(job.house_seed)} (seed {job.house_seed})"
    records: List[PathRecord] = []
    failures = 0
    splits = [job.role] * (job.num_paths - job.num_val_seen) + ["val_seen"] * job.num_val_seen
    for split in splits:
        for _attempt in range(5):  # a pair the expert cannot finish is re-drawn, boundedly
            start, goal, dist, path = sample_pair(pf, scene, rng, cfg, where)
            path = [[float(v) for v in p] for p in path]
            yaw = float(rng.uniform(-math.pi, math.pi))
            rot = [float(v) for v in geometry.quat_from_yaw(yaw)]
            locs, acts, reached = run_expert(sim, path, start, rot, goal, cfg.follower_radius, MAX_EXPERT_STEPS,
                                             exact=cfg.exact_expert)
            if reached:
                break
            failures += 1
        else:
            raise GenerationError(f"{where}: the expert failed to reach 5 sampled goals within {MAX_EXPERT_STEPS} steps")
        utts = speaker.instructions(path, yaw, speaker_rng, count=cfg.instructions_per_path)
        r0, r1 = scene.room_at(start[0], start[2]), scene.room_at(goal[0], goal[2])
        records.append(PathRecord(
            split=split, house_index=job.index, scene_id=scene_id, start_position=[float(v) for v in start],
            start_rotation=rot, goal=[float(v) for v in goal], reference_path=path, geodesic_distance=dist,
            texts=[u.text for u in utts], landmark_ids=[[o.id for o in u.landmarks] for u in utts],
            stop_object_ids=[u.stop_object.id if u.stop_object is not None else None for u in utts],
            gt_locations=locs, gt_actions=acts, rooms=(r0.id if r0 else None, r1.id if r1 else None),
        ))
    info = {"house": house_name(job.house_seed), "role": job.role, "rooms": len(scene.rooms),
            "objects": len(scene.objects), "seconds": time.perf_counter() - t0, "expert_failures": failures}
    return records, info


# ---------------------------------------------------------------------- dataset
_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_path_component(what: str, value: str) -> None:
    """Refuse a dataset name or version that is not one plain directory name (``../x``, ``/abs``, ``a/b``)."""
    if not isinstance(value, str) or not _COMPONENT.match(value) or value in (".", ".."):
        raise ConfigError(f"{what} {value!r} is not a plain directory name; expected letters, digits, '.', '_' "
                          "or '-' (no '/' or '..'), so the dataset stays inside <data_root>/datasets/")


def generate_dataset(data_root: PathLike = "data", name: str = "procgen_r2r", num_houses: int = 30,
                     episodes_per_house: int = 50, seed: int = 0, workers: int = 1, version: str = "v1",
                     progress: bool = True, **options: Any) -> Dict[str, Any]:
    """Generate a VLN-CE dataset over procedural houses; return summary statistics.

    ``options`` are further ``GenerationConfig`` fields (``min_distance``,
    ``max_distance``, ``num_rooms``, ...). Writes
    ``<data_root>/datasets/<name>/<version>/{split}/{split}.json.gz`` (+ ``_gt``),
    ``tokenizer.json`` and ``generation.json`` there, and the house scenes.
    """
    for what, value in (("--name", name), ("--version", version)):
        check_path_component(what, value)
    unknown = set(options) - set(GenerationConfig.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"unknown generation options {sorted(unknown)}; expected fields of GenerationConfig")
    cfg = GenerationConfig(num_houses=num_houses, episodes_per_house=episodes_per_house, seed=seed, **options)
    if not (isinstance(workers, int) and workers >= 1):
        raise ConfigError(f"workers={workers!r}; expected an integer >= 1")
    t0 = time.perf_counter()
    jobs = plan_jobs(cfg, data_root)
    results = _run_jobs(jobs, workers, progress)
    records = [r for recs, _ in results for r in recs]
    house_infos = [info for _, info in results]
    out_dir = dataset_dir(data_root, name, version)
    stats = write_splits(records, cfg, out_dir)
    stats.update(seconds=time.perf_counter() - t0, houses=len(jobs), workers=workers,
                 expert_failures=sum(i["expert_failures"] for i in house_infos), data_dir=str(out_dir))
    # only seed-determined content goes to disk (no timings), so reruns are byte-identical
    write_json(out_dir / "generation.json", {
        "config": asdict(cfg),
        "houses": [{k: v for k, v in i.items() if k != "seconds"} for i in house_infos],
        "stats": {k: v for k, v in stats.items() if k not in ("seconds", "workers", "data_dir")}})
    return stats


def _run_jobs(jobs: Sequence[HouseJob], workers: int, progress: bool):
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc="houses", unit="house", disable=not progress)
    try:
        if workers == 1:
            out = []
            for job in jobs:
                out.append(generate_house_paths(job))
                bar.update(1)
            return out
        # spawn: workers must not inherit the parent's threads/locks; results come back in job order
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            out = []
            for res in pool.map(generate_house_paths, jobs):
                out.append(res)
                bar.update(1)
            return out
    finally:
        bar.close()


def write_splits(records: Sequence[PathRecord], cfg: GenerationConfig, out_dir: Path) -> Dict[str, Any]:
    """Number episodes, build the vocabulary and tokenizer on train, write every split."""
    train_texts = [t for r in records if r.split == "train" for t in r.texts]
    vocab = Vocabulary.build(train_texts, min_count=cfg.vocab_min_count)
    order = ("train", "val_seen", "val_unseen", "test")
    stats: Dict[str, Any] = {"splits": {}, "vocab_size": len(vocab)}
    traj_id = 0
    for split in order:
        recs = [r for r in records if r.split == split]
        if not recs:
            continue
        episodes, gt = [], {}
        for r in recs:
            for k, text in enumerate(r.texts):
                eid = len(episodes)
                episodes.append(Episode(
                    episode_id=eid, trajectory_id=traj_id, scene_id=r.scene_id, start_position=r.start_position,
                    start_rotation=r.start_rotation, goals=[Goal(position=r.goal, radius=cfg.goal_radius)],
                    reference_path=r.reference_path, instruction=Instruction(text, vocab.encode(text)),
                    info={"geodesic_distance": r.geodesic_distance, "landmark_ids": r.landmark_ids[k],
                          "stop_object_id": r.stop_object_ids[k]},
                ))
                gt[str(eid)] = {"locations": r.gt_locations, "actions": r.gt_actions,
                                "forward_steps": sum(1 for a in r.gt_actions if a == 1)}
            traj_id += 1
        split_dir = out_dir / split
        save(EpisodeDataset(episodes, vocab.word_list), split_dir / f"{split}.json.gz")
        save_gt(gt, split_dir / f"{split}_gt.json.gz")
        dists = [r.geodesic_distance for r in recs]
        stats["splits"][split] = {"episodes": len(episodes), "paths": len(recs),
                                  "houses": len({r.scene_id for r in recs}),
                                  "mean_geodesic_distance": float(np.mean(dists)),
                                  "cross_room_share": float(np.mean([r.rooms[0] != r.rooms[1] for r in recs]))}
    if train_texts:
        tok = train_tokenizer(train_texts, vocab_size=cfg.tokenizer_vocab_size)
        save_tokenizer(tok, out_dir)
    stats["episodes"] = sum(s["episodes"] for s in stats["splits"].values())
    return stats
