"""Score one encoder on the standard tasks (and navigation) with one call: ``vlnsim eval-encoder``.

For each task the encoder gets the same fine-tuning budget (``configs/finetune_<task>.yaml``
plus overrides), is evaluated on the held-out split, and everything lands in one
directory::

    OUT/metrics.json                 {"encoder", "random_encoder", "tasks": {task: report}}
    OUT/metrics.md                   one Markdown table
    OUT/retrieval_rankings.json      top-10 rankings (both directions)
    OUT/vqa_results.json             [{"question_id", "answer"}]        (VQA results format)
    OUT/captions_results.json        [{"image_id", "caption"}]          (COCO results format)
    OUT/<task>/                      the fine-tuning run (checkpoints, tb/, final/)
    OUT/nav/                         the navigation run and its eval (task "nav")

Tasks can be run in several calls into the same ``OUT`` (same encoder), one after the
other or at the same time (one call per core): ``metrics.json`` is rebuilt at every write
from each task's own report on disk (``OUT/<task>/eval/metrics.json``, ``OUT/nav/report.json``)
whose run was made for the same encoder, so no call drops another's results.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from vlnsim.errors import ConfigError
from vlnsim.io_utils import atomic_write_text

from .data import TASKS

ALL_TASKS = TASKS + ("nav",)


def parse_tasks(text: str) -> List[str]:
    tasks = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in tasks if t not in ALL_TASKS]
    if bad or not tasks:
        raise ConfigError(f"--tasks {text!r}; expected a comma-separated subset of {list(ALL_TASKS)}")
    return list(dict.fromkeys(tasks))


def evaluate_encoder(encoder: str, tasks: Sequence[str], out_dir, data: str = "", random_encoder: bool = False,
                     overrides: Sequence[str] = (), fresh: bool = False, progress: bool = True,
                     nav: Optional[Mapping] = None) -> Dict:
    """Fine-tune and evaluate every task in ``tasks``; write the files listed in the module docstring."""
    from .config import load_finetune_config
    from .evaluate import RESULT_FILES, evaluate_task
    from .finetune import finetune, load_split
    from .vqa import majority_baseline

    out_dir = Path(out_dir)
    configs = {}
    for task in tasks:  # parse every config first: a typo fails before hours of work
        if task != "nav":
            configs[task] = load_finetune_config(f"finetune_{task}", overrides, task=task, encoder=encoder,
                                                 data=data or None, random_encoder=random_encoder)
    for task in tasks:
        run = out_dir / task
        if (run / "checkpoints").exists():
            if not fresh:
                raise ConfigError(f"{run} already holds a run; pass --fresh to replace it or choose another --out")
            shutil.rmtree(run)
    out_dir.mkdir(parents=True, exist_ok=True)
    result: Dict = {"encoder": str(encoder), "random_encoder": bool(random_encoder), "tasks": {}}
    previous = _read_json(out_dir / "metrics.json")
    if previous and previous.get("encoder") == result["encoder"] and previous.get("random_encoder") == result["random_encoder"]:
        # tasks run earlier into the same directory for the same encoder are kept (re-run ones replaced)
        result["tasks"] = {k: v for k, v in previous.get("tasks", {}).items() if k not in tasks}
    for task in tasks:
        if task == "nav":
            from .nav_eval import evaluate_nav

            result["tasks"]["nav"] = evaluate_nav(encoder, out_dir / "nav", random_encoder=random_encoder,
                                                  progress=progress, **dict(nav or {}))
            atomic_write_text(out_dir / "nav" / NAV_REPORT, json.dumps(
                {"encoder": result["encoder"], "random_encoder": result["random_encoder"],
                 "report": result["tasks"]["nav"]}, indent=1))
            _write_summary(out_dir, result)
            continue
        cfg = configs[task]
        run = finetune(cfg, out_dir / task, progress=progress)
        ev = load_split(cfg, cfg.eval_split, cfg.max_eval_images, cfg.eval_data or None)
        baseline = majority_baseline(run["train_data"].annotations(), "question_family") if task == "vqa" else None
        report = evaluate_task(run["model"], ev, out_dir / task / "eval", frozen=cfg.freeze_towers, baseline=baseline,
                               progress=progress)
        report["finetune"] = {"steps": cfg.steps, "batch_size": cfg.batch_size, "train_images": len(run["train_data"].image_ids),
                              "eval_split": cfg.eval_split, "seconds": _seconds(out_dir / task)}
        atomic_write_text(out_dir / task / "eval" / "metrics.json", json.dumps(report, indent=1))
        shutil.copyfile(out_dir / task / "eval" / RESULT_FILES[task], out_dir / RESULT_FILES[task])
        result["tasks"][task] = report
        _write_summary(out_dir, result)  # partial results survive a later failure
    _write_summary(out_dir, result)
    return result


def _read_json(path: Path) -> Optional[Dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _seconds(run: Path) -> Optional[float]:
    try:
        return json.loads((run / "train_history.json").read_text()).get("seconds")
    except (OSError, ValueError):
        return None


NAV_REPORT = "report.json"


def task_reports_on_disk(out_dir: Path, encoder: str, random_encoder: bool) -> Dict[str, Dict]:
    """The reports under ``out_dir`` of runs made for this encoder: ``<task>/eval/metrics.json``
    (its ``<task>/finetune_config.json`` names the encoder) and ``nav/report.json``."""
    found: Dict[str, Dict] = {}
    for task in TASKS:
        cfg = _read_json(out_dir / task / "finetune_config.json")
        report = _read_json(out_dir / task / "eval" / "metrics.json")
        if cfg and report and cfg.get("encoder") == encoder and bool(cfg.get("random_encoder")) == random_encoder:
            found[task] = report
    nav = _read_json(out_dir / "nav" / NAV_REPORT)
    if nav and nav.get("encoder") == encoder and bool(nav.get("random_encoder")) == random_encoder:
        found["nav"] = nav["report"]
    return found


def _write_summary(out_dir: Path, result: Dict) -> None:
    # another call into the same OUT may have finished tasks meanwhile: take them from disk
    on_disk = task_reports_on_disk(out_dir, result["encoder"], result["random_encoder"])
    merged = {**on_disk, **result["tasks"]}  # this call's own results win
    result["tasks"] = {t: merged[t] for t in ALL_TASKS if t in merged}
    atomic_write_text(out_dir / "metrics.json", json.dumps(result, indent=1))
    name = "random " + Path(result["encoder"]).name if result["random_encoder"] else Path(result["encoder"]).name
    atomic_write_text(out_dir / "metrics.md", markdown_table({name: result}))


def flat_metrics(result: Mapping) -> Dict[str, Optional[float]]:
    """Ordered ``label -> value`` of the headline numbers of one ``metrics.json``."""
    rows: Dict[str, Optional[float]] = {}
    tasks = result.get("tasks", {})
    ret = tasks.get("retrieval")
    if ret:
        for method, label in (("itc", "ITC"), ("itm", "ITC+ITM")):
            if method in ret:
                m = ret[method]
                for d, dn in (("i2t", "image→text"), ("t2i", "text→image")):
                    for k in (1, 5, 10):
                        rows[f"retrieval {dn} R@{k} ({label})"] = m[f"{d}_r{k}"]
                rows[f"retrieval RSUM ({label})"] = m["rsum"]
    vqa = tasks.get("vqa")
    if vqa:
        rows["VQA accuracy"] = vqa["accuracy"]
        base = vqa.get("majority_baseline", {})
        if base:
            rows["VQA accuracy, majority baseline"] = base["accuracy"]
        for fam, acc in vqa["per_family"].items():
            rows[f"VQA {fam}"] = acc
            if base:
                rows[f"VQA {fam}, majority baseline"] = base["per_family"].get(fam)
    cap = tasks.get("caption")
    if cap:
        for key, label in (("bleu_1", "BLEU-1"), ("bleu_2", "BLEU-2"), ("bleu_3", "BLEU-3"), ("bleu_4", "BLEU-4"),
                           ("rouge_l", "ROUGE-L"), ("cider_d", "CIDEr-D"), ("meteor", "METEOR")):
            if key in cap:
                rows[f"caption {label}"] = cap[key]
    nav = tasks.get("nav")
    if nav:
        for key, label in (("sr", "SR"), ("spl", "SPL"), ("ndtw", "nDTW")):
            if key in nav:
                rows[f"nav {label} ({nav.get('split', 'val_unseen')})"] = nav[key]
    return rows


def markdown_table(columns: Mapping[str, Mapping]) -> str:
    """One Markdown table: a row per metric, a column per named ``metrics.json`` result."""
    flats = {name: flat_metrics(r) for name, r in columns.items()}
    labels: List[str] = []
    for f in flats.values():
        labels.extend(k for k in f if k not in labels)
    head = "| metric | " + " | ".join(flats) + " |\n|---|" + "---:|" * len(flats) + "\n"
    body = "".join("| " + label + " | " + " | ".join(_fmt(f.get(label)) for f in flats.values()) + " |\n"
                   for label in labels)
    notes = []
    for name, r in columns.items():
        cap = r.get("tasks", {}).get("caption")
        if cap and cap.get("skipped"):
            notes.append(f"{name}: " + "; ".join(cap["skipped"].values()))
    return head + body + ("\n" + "\n".join(f"- {n}" for n in notes) + "\n" if notes else "")


def _fmt(v) -> str:
    if v is None:
        return "–"
    return f"{v:.1f}" if abs(v) >= 10 else f"{v:.3f}"
