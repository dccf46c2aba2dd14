"""Discrete R2R datasets over procedural houses: navigation graphs, paths, instructions.

``generate_discrete_dataset`` builds the same houses as the continuous generator
(``vlnsim.episodes.generate``: house ``i`` has seed ``seed * 10000 + i`` and the same
train / val_unseen / test house split, val_seen = held-out paths in train houses), saves
each scene under ``<data_root>/scene_datasets/procgen/<scan>/<scan>.glb``, builds its
navigation graph (``build_nav_graph``) and writes:

* ``<data_root>/connectivity/<scan>_connectivity.json`` (scan = the house's name);
* ``<data_root>/datasets/<name>/R2R_<split>.json``: R2R records ``{distance, scan,
  path_id, path [viewpoint ids], heading, instructions [3]}``; paths are graph shortest
  paths between random viewpoints (``min_edges``..``max_edges`` edges, graph distance in
  [min_distance, max_distance]); ``heading`` is R2R's (clockwise from -Z, radians);
  the instructions come from the template speaker on the path's viewpoint positions;
* ``instruction_vocab.json`` (``{"word_list": [...]}``, from train) and ``generation.json``.

Every random choice of house ``i`` is drawn from ``default_rng([seed, house_seed, 2])``.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from ..episodes.generate import assign_houses, house_name, scene_id_of
from ..episodes.io import write_json
from ..episodes.r2r import R2RPath, save_r2r
from ..episodes.vocab import Vocabulary
from ..errors import ConfigError, GenerationError
from .build import GraphConfig, build_nav_graph
from .connectivity import connectivity_path, save_connectivity
from .graph import NavGraph

SPLIT_ORDER = ("train", "val_seen", "val_unseen", "test")


@dataclass
class DiscreteGenerationConfig:
    """Discrete dataset settings.

    Attributes:
        num_houses: houses to build (>= 3 gives all four splits).
        paths_per_house: R2R paths per house (each with ``instructions_per_path`` instructions).
        seed: master seed (house ``i`` has seed ``seed * 10000 + i``, as the continuous data).
        num_rooms: rooms per house, or None for the generator's seeded default.
        min_distance, max_distance: graph distance range of a path (m).
        min_edges, max_edges: edge-count range of a path (R2R: 4-6 edges).
        instructions_per_path: instructions per path (R2R: 3).
        val_seen_fraction: share of a train house's paths that go to val_seen.
        unseen_fraction: share of houses for val_unseen and for test (each).
        graph: navigation-graph settings (``GraphConfig`` fields).
    """

    num_houses: int = 30
    paths_per_house: int = 20
    seed: int = 0
    num_rooms: Any = None
    min_distance: float = 4.0
    max_distance: float = 20.0
    min_edges: int = 3
    max_edges: int = 8
    instructions_per_path: int = 3
    val_seen_fraction: float = 0.15
    unseen_fraction: float = 0.15
    graph: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (isinstance(self.num_houses, int) and self.num_houses >= 1):
            raise ConfigError(f"num_houses={self.num_houses!r}; expected an integer >= 1")
        if not (isinstance(self.paths_per_house, int) and self.paths_per_house >= 1):
            raise ConfigError(f"paths_per_house={self.paths_per_house!r}; expected an integer >= 1")
        if not (0 <= self.min_distance < self.max_distance):
            raise GenerationError(f"distance range [{self.min_distance}, {self.max_distance}] m is empty")
        if not (1 <= self.min_edges <= self.max_edges):
            raise ConfigError(f"edge range [{self.min_edges}, {self.max_edges}]; expected 1 <= min_edges <= max_edges")
        GraphConfig(**self.graph)  # validate early


def sample_paths(graph: NavGraph, count: int, rng: np.random.Generator, cfg: DiscreteGenerationConfig,
                 where: str) -> List[List[str]]:
    """``count`` distinct shortest paths (viewpoint ids) meeting the distance/edge ranges."""
    d = graph.distances
    n = len(graph)
    hops = np.full((n, n), -1)
    pairs = []
    for i in range(n):
        for j in range(n):
            if i != j and np.isfinite(d[i, j]) and cfg.min_distance <= d[i, j] <= cfg.max_distance:
                pairs.append((i, j))
    ok = []
    for i, j in pairs:
        path = graph.shortest_path(graph.ids[i], graph.ids[j])
        hops[i, j] = len(path) - 1
        if cfg.min_edges <= len(path) - 1 <= cfg.max_edges:
            ok.append(path)
    if not ok:
        raise GenerationError(f"{where}: no viewpoint pair with graph distance in [{cfg.min_distance}, "
                              f"{cfg.max_distance}] m and {cfg.min_edges}..{cfg.max_edges} edges "
                              f"({n} viewpoints, largest distance {np.nanmax(np.where(np.isfinite(d), d, np.nan)):.2f} m)")
    order = rng.permutation(len(ok))
    chosen = [ok[k] for k in order[:count]]
    while len(chosen) < count:  # fewer distinct paths than asked: repeat (new headings/instructions)
        chosen.append(ok[int(rng.integers(len(ok)))])
    return chosen


def generate_house_records(index: int, house_seed: int, role: str, num_paths: int, num_val_seen: int,
                           data_root: str, config: Dict[str, Any]) -> Tuple[List[Tuple[str, R2RPath]], Dict[str, Any]]:
    """Build, save and annotate one house; returns ([(split, record)], house info)."""
    from ..episodes.speaker import Speaker
    from ..scene.house import generate_house
    from ..scene.io import load_scene, save_scene

    cfg = DiscreteGenerationConfig(**config)
    t0 = time.perf_counter()
    scan = house_name(house_seed)
    built = generate_house(house_seed, num_rooms=cfg.num_rooms)
    scene_path = Path(data_root) / "scene_datasets" / scene_id_of(house_seed)
    # never replace another dataset's house of the same name with a different one (SceneFileError)
    save_scene(built, scene_path, overwrite=False)
    scene = load_scene(scene_path)  # plan on the scene exactly as the env loads it
    graph = build_nav_graph(scene, scan, GraphConfig(**cfg.graph), seed=house_seed)
    save_connectivity(graph, connectivity_path(data_root, scan))
    rng = np.random.default_rng([cfg.seed, house_seed, 2])
    speaker = Speaker(scene)
    splits = [role] * (num_paths - num_val_seen) + ["val_seen"] * num_val_seen
    paths = sample_paths(graph, len(splits), rng, cfg, f"house {scan} (seed {house_seed})")
    out = []
    for split, path in zip(splits, paths):
        heading = float(rng.uniform(0.0, 2 * math.pi))
        pts = [graph.position(v).tolist() for v in path]
        # the speaker takes vlnsim's yaw (counter-clockwise); R2R's heading is clockwise
        utts = speaker.instructions(pts, -heading, rng, count=cfg.instructions_per_path)
        out.append((split, R2RPath(path_id=None, scan=scan, path=list(path), heading=heading,
                                   distance=float(round(graph.path_length(path), 6)),
                                   instructions=[u.text for u in utts])))
    info = {"scan": scan, "role": role, **graph.stats(), "seconds": time.perf_counter() - t0}
    return out, info


def _job(args):
    return generate_house_records(*args)


def generate_discrete_dataset(data_root: str = "data", name: str = "procgen_r2r_discrete", num_houses: int = 30,
                              paths_per_house: int = 20, seed: int = 0, workers: int = 1, progress: bool = True,
                              **options: Any) -> Dict[str, Any]:
    """Generate connectivity files and R2R splits; return summary statistics."""
    from tqdm import tqdm

    unknown = set(options) - set(DiscreteGenerationConfig.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"unknown discrete generation options {sorted(unknown)}; expected DiscreteGenerationConfig fields")
    cfg = DiscreteGenerationConfig(num_houses=num_houses, paths_per_house=paths_per_house, seed=seed, **options)
    if not (isinstance(workers, int) and workers >= 1):
        raise ConfigError(f"workers={workers!r}; expected an integer >= 1")
    t0 = time.perf_counter()
    jobs = []
    for i, role in enumerate(assign_houses(cfg.num_houses, cfg.unseen_fraction)):
        n_vs = 0
        if role == "train" and cfg.paths_per_house > 1:
            n_vs = max(1, int(round(cfg.val_seen_fraction * cfg.paths_per_house)))
        jobs.append((i, cfg.seed * 10000 + i, role, cfg.paths_per_house, n_vs, str(data_root), asdict(cfg)))
    bar = tqdm(total=len(jobs), desc="houses", unit="house", disable=not progress)
    results = []
    if workers == 1:
        for job in jobs:
            results.append(_job(job))
            bar.update(1)
    else:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            for res in pool.map(_job, jobs):
                results.append(res)
                bar.update(1)
    bar.close()
    out_dir = Path(data_root) / "datasets" / name
    by_split: Dict[str, List[R2RPath]] = {s: [] for s in SPLIT_ORDER}
    for recs, _ in results:
        for split, rec in recs:
            by_split[split].append(rec)
    path_id = 0
    stats: Dict[str, Any] = {"splits": {}}
    for split in SPLIT_ORDER:
        recs = by_split[split]
        if not recs:
            continue
        for r in recs:
            r.path_id = path_id
            path_id += 1
        save_r2r(recs, out_dir / f"R2R_{split}.json")
        stats["splits"][split] = {"paths": len(recs), "instructions": sum(len(r.instructions) for r in recs),
                                  "houses": len({r.scan for r in recs}),
                                  "mean_distance": float(np.mean([r.distance for r in recs])),
                                  "mean_edges": float(np.mean([len(r.path) - 1 for r in recs]))}
    vocab = Vocabulary.build(t for r in by_split["train"] for t in r.instructions)
    write_json(out_dir / "instruction_vocab.json", {"word_list": vocab.word_list})
    infos = [info for _, info in results]
    stats["graphs"] = {k: float(np.mean([i[k] for i in infos])) for k in ("viewpoints", "mean_degree", "mean_edge_length")}
    stats["vocab_size"] = len(vocab)
    write_json(out_dir / "generation.json", {"config": asdict(cfg), "houses": [{k: v for k, v in i.items() if k != "seconds"}
                                                                              for i in infos], "stats": stats})
    stats.update(seconds=time.perf_counter() - t0, houses=len(jobs), data_dir=str(out_dir),
                 paths=sum(s["paths"] for s in stats["splits"].values()))
    return stats
