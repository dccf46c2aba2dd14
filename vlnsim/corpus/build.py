"""Build an image-text corpus from procedural houses: views, captions, boxes, questions.

``build_corpus`` assigns whole houses to the train / val / test splits (so test houses
are never seen in training), renders ``views_per_house`` views of each house in a
worker, writes the image files there, and gathers the captions, boxes and question
candidates; the question balancing and the annotation files are done in the parent.
Every random draw comes from ``default_rng([seed, house_seed, ...])``, and file names
and ids depend only on the house index, so the output does not depend on ``workers``.
"""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy as np

from ..errors import ConfigError
from .boxes import instance_annotations
from .captions import captions
from .questions import FAMILIES, balance_questions, candidate_questions, family_stats
from .writers import image_file_names, karpathy_record, write_captions, write_instances, write_json, write_view_images, write_vqa

SPLITS = ("train", "val", "test")


@dataclass
class CorpusConfig:
    """Corpus generation settings (all recorded in ``DIR/corpus.json``)."""

    houses: int = 100
    """Number of procedural houses."""
    views_per_house: int = 20
    """Rendered views per house."""
    size: int = 64
    """Image edge in pixels."""
    seed: int = 0
    """Master seed (house seeds, poses, phrasings and the split all follow from it)."""
    val_fraction: float = 0.1
    """Share of houses in the val split."""
    test_fraction: float = 0.2
    """Share of houses in the test split."""
    captions_per_image: int = 5
    """Captions written per image."""
    min_fraction: float = 0.015
    """Smallest image fraction an object must cover to be described."""
    answer_cap: float = 0.3
    """Largest share any one answer may take within a question family."""

    def validate(self) -> None:
        if not (isinstance(self.houses, int) and self.houses >= 1):
            raise ConfigError(f"houses={self.houses!r}; expected an integer >= 1")
        if not (isinstance(self.views_per_house, int) and self.views_per_house >= 1):
            raise ConfigError(f"views_per_house={self.views_per_house!r}; expected an integer >= 1")
        if not (isinstance(self.size, int) and 16 <= self.size <= 1024):
            raise ConfigError(f"size={self.size!r}; expected an integer in [16, 1024]")
        if not (0 <= self.val_fraction < 1 and 0 <= self.test_fraction < 1 and self.val_fraction + self.test_fraction < 1):
            raise ConfigError(f"val_fraction={self.val_fraction}, test_fraction={self.test_fraction}; "
                              "expected fractions in [0, 1) that leave some houses for train")
        if not (1 <= self.captions_per_image <= 10):
            raise ConfigError(f"captions_per_image={self.captions_per_image!r}; expected 1..10")


@dataclass
class HouseJob:
    index: int
    house_seed: int
    split: str
    config: Dict[str, Any]
    out_dir: str


def house_seed(seed: int, index: int) -> int:
    """Seed of house ``index`` (disjoint from the navigation datasets' small seeds)."""
    return int(1_000_000 + (seed * 100_003 + index) % 1_000_000_000)


def assign_splits(cfg: CorpusConfig) -> List[str]:
    """Split of each house: a seeded permutation, test first, then val, rest train."""
    n = cfg.houses
    n_test = int(round(cfg.test_fraction * n))
    n_val = int(round(cfg.val_fraction * n))
    if n >= 3:
        n_test, n_val = max(n_test, 1 if cfg.test_fraction > 0 else 0), max(n_val, 1 if cfg.val_fraction > 0 else 0)
    order = np.random.default_rng([cfg.seed, 0]).permutation(n)
    split = ["train"] * n
    for rank, i in enumerate(order.tolist()):
        split[i] = "test" if rank < n_test else ("val" if rank < n_test + n_val else "train")
    return split


def render_house(job: HouseJob) -> List[Dict[str, Any]]:
    """Render, describe and write the views of one house (a worker task)."""
    from ..scene.house import generate_house
    from .views import ViewSampler

    cfg = CorpusConfig(**job.config)
    scene = generate_house(job.house_seed)
    sampler = ViewSampler(scene, size=cfg.size, min_fraction=cfg.min_fraction)
    image_dir = Path(job.out_dir) / "images" / job.split
    records = []
    try:
        for v in range(cfg.views_per_house):
            rng = np.random.default_rng([cfg.seed, job.house_seed, v])
            view = sampler.sample(rng, job.index, v)
            image_id = job.index * cfg.views_per_house + v + 1
            names = image_file_names(job.split, image_id)
            write_view_images(image_dir, names, view.rgb, view.depth, view.semantic)
            image = dict(names, id=image_id, width=cfg.size, height=cfg.size, license=1,
                         house=scene.name, house_index=job.index, room=view.room,
                         position=view.position, yaw=view.yaw)
            records.append({"image": image, "captions": captions(view, rng, cfg.captions_per_image),
                            "boxes": instance_annotations(scene, view.instance),
                            "questions": candidate_questions(view, rng)})
    finally:
        sampler.close()
    return records


def _run(jobs: Sequence[HouseJob], workers: int, progress: bool) -> List[List[Dict[str, Any]]]:
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc="houses", unit="house", disable=not progress)
    out = []
    try:
        if workers == 1:
            for job in jobs:
                out.append(render_house(job))
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                for res in pool.map(render_house, jobs):  # results come back in job order
                    out.append(res)
                    bar.update(1)
    finally:
        bar.close()
    return out


def build_corpus(out_dir, cfg: CorpusConfig, workers: int = 1, progress: bool = True) -> Dict[str, Any]:
    """Generate the corpus under ``out_dir``; return its statistics (also in corpus.json)."""
    cfg.validate()
    if not (isinstance(workers, int) and workers >= 1):
        raise ConfigError(f"workers={workers!r}; expected an integer >= 1")
    t0 = time.perf_counter()
    out = Path(out_dir)
    splits = assign_splits(cfg)
    jobs = [HouseJob(i, house_seed(cfg.seed, i), splits[i], asdict(cfg), str(out)) for i in range(cfg.houses)]
    results = _run(jobs, workers, progress)
    ann_dir = out / "annotations"
    stats: Dict[str, Any] = {"splits": {}}
    karpathy, qid, sentid = [], 1, 1
    for s_idx, split in enumerate(SPLITS):
        recs = [r for job, res in zip(jobs, results) if job.split == split for r in res]
        if not recs:
            continue
        images = [r["image"] for r in recs]
        caps = [r["captions"] for r in recs]
        qas = balance_questions([r["questions"] for r in recs], np.random.default_rng([cfg.seed, 1, s_idx]),
                                cap=cfg.answer_cap)
        n_caps = write_captions(ann_dir / f"captions_{split}.json", images, caps)
        n_boxes = write_instances(ann_dir / f"instances_{split}.json", images, [r["boxes"] for r in recs])
        n_q = write_vqa(ann_dir / f"vqa_{split}_questions.json", ann_dir / f"vqa_{split}_annotations.json",
                        split, images, qas, qid)
        qid += n_q
        for img, c in zip(images, caps):
            karpathy.append(karpathy_record(split, img, c, sentid))
            sentid += len(c)
        fam = family_stats(qas)
        stats["splits"][split] = {
            "houses": sum(1 for j in jobs if j.split == split), "images": len(images), "captions": n_caps,
            "boxes": n_boxes, "questions": n_q,
            "families": {f: {"questions": fam[f][0], "top_answer": fam[f][2], "top_share": round(fam[f][1], 4)}
                         for f in FAMILIES if f in fam}}
    write_json(ann_dir / "dataset_vlnsim.json", {"dataset": "vlnsim", "images": karpathy})
    write_json(out / "corpus.json", {"config": asdict(cfg), "stats": stats,
                                     "houses": [{"index": j.index, "seed": j.house_seed, "split": j.split} for j in jobs]})
    stats["seconds"] = time.perf_counter() - t0
    return stats
