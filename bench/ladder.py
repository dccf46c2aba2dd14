"""The instruction-following ladder (issue 15): train and evaluate each rung, print one table.

Run as ``python bench/ladder.py --rungs 1,2,3`` (default: every rung). Rung ``k`` is
``configs/ladder_<k>_*.yaml``. For each rung the script

1. generates the rung's dataset when it is missing (``vlnsim generate`` with the options
   in ``DATASETS``; every dataset shares the val_unseen episodes of rung 1: same houses,
   same seeds, the speaker draws from its own random stream);
2. trains it with ``vlnsim train --config ... --resume`` into ``<out>/<name>`` (a
   finished run is not retrained; ``--fresh`` starts over);
3. evaluates it on the same ``--episodes`` val_unseen episodes three times with
   ``vlnsim eval``: as trained, with the instruction replaced by padding
   (``--ablate instruction``) and with the images blanked (``--ablate vision``);
   (an evaluation already written after the run's latest checkpoint is reused);
4. writes ``<out>/<name>/ladder_row.json`` (metrics, wall times) and, over every rung
   that has a row, ``<out>/ladder.md`` (the Markdown table of the README).

Wall times are the train and evaluation commands' own, on whatever else the machine is
running; the CPU seconds beside them (user + system, the command and its env workers)
do not depend on other jobs and, at one torch thread per process, approximate the wall
time on a quiet machine. Prerequisites of
later rungs (the PointNav run of rung 4, the pretraining run of rungs 5-6) are named in
their configs; a missing one stops the rung with the command that makes it.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# dataset name -> `vlnsim generate` options (seed 0, 30 houses x 50 episodes unless given)
DATASETS: Dict[str, List[str]] = {
    "procgen_r2r_verbose": ["--instruction-style", "verbose"],
    "procgen_r2r": [],
    "procgen_r2r_large": ["--extra-train-houses", "170"],
}
# run directories the later rungs read, and the command that makes each
PREREQUISITES = {
    "runs/ppo_pointnav_cpu": "vlnsim generate --name procgen_pointnav --houses 40 --episodes-per-house 90 --seed 13 "
                             "--min-distance 1 --max-distance 8 && vlnsim train --config configs/ppo_pointnav_cpu.yaml",
    "runs/vlp_cpu_run3/final": "vlnsim make-corpus && vlnsim pretrain --config configs/vlp_cpu.yaml "
                               "--run-dir runs/vlp_cpu_run3   (its final/ directory)",
}
VARIANTS = (("full", []), ("no_instruction", ["--ablate", "instruction"]), ("no_vision", ["--ablate", "vision"]))
KEYS = ("sr", "spl", "ndtw")


def vlnsim(argv: List[str]) -> Tuple[float, float]:
    """Run one ``vlnsim`` command in a subprocess (as a user would); return (wall, CPU) seconds.

    CPU seconds (user + system of the command and its worker processes) do not depend on
    what else runs on the machine; with one torch thread per process they are close to
    the wall time the command takes on a quiet machine.
    """
    cmd = [sys.executable, "-c", "import sys; from vlnsim.cli import main; sys.exit(main())", *argv]
    print("$ vlnsim " + " ".join(argv), flush=True)
    t, r = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc != 0:
        raise SystemExit(f"ladder: 'vlnsim {' '.join(argv)}' failed with exit code {rc}")
    r2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - t, (r2.ru_utime - r.ru_utime) + (r2.ru_stime - r.ru_stime)


def latest_checkpoint_time(run_dir: Path) -> float:
    """Modification time of the run's ``checkpoints/latest.json`` (0 when there is none)."""
    f = run_dir / "checkpoints" / "latest.json"
    return f.stat().st_mtime if f.is_file() else 0.0


def rung_config(k: int) -> Path:
    found = sorted((ROOT / "configs").glob(f"ladder_{k}_*.yaml"))
    if len(found) != 1:
        raise SystemExit(f"ladder: expected exactly one configs/ladder_{k}_*.yaml, found {[f.name for f in found]}")
    return found[0]


def run_rung(k: int, out: Path, data_root: Path, episodes: int, fresh: bool) -> Dict:
    from vlnsim.config import read_yaml

    cfg_path = rung_config(k)
    cfg = read_yaml(cfg_path)
    name, dataset = cfg["name"], cfg["env"]["dataset"]
    run_dir = out / name
    policy = cfg.get("policy", {})
    for needed in {policy.get("depth", {}).get("pretrained"), policy.get("vision", {}).get("clip"),
                   policy.get("instruction", {}).get("model")}:
        if needed in PREREQUISITES and not (ROOT / needed).exists():
            raise SystemExit(f"ladder: rung {k} ({cfg_path.name}) needs {needed}, which is missing; make it with: "
                             f"{PREREQUISITES[needed]}")
    if not (data_root / "datasets" / dataset / "v1" / "val_unseen").is_dir():
        if dataset not in DATASETS:
            raise SystemExit(f"ladder: dataset {dataset!r} of {cfg_path.name} is missing and not in DATASETS")
        vlnsim(["generate", "--name", dataset, "--data-root", str(data_root), "--quiet", *DATASETS[dataset]])
    if fresh:
        shutil.rmtree(run_dir, ignore_errors=True)
    row_file = run_dir / "ladder_row.json"
    old = json.loads(row_file.read_text()) if row_file.is_file() else {}
    train_s, train_cpu = vlnsim(["train", "--config", str(cfg_path), "--run-dir", str(run_dir),
                                 "--data-root", str(data_root), "--resume", "--no-progress"])
    row: Dict = {"rung": k, "name": name, "config": f"configs/{cfg_path.name}", "dataset": dataset,
                 "episodes": episodes, "train_seconds": round(train_s, 1), "train_cpu_seconds": round(train_cpu, 1),
                 "eval_seconds": {}, "eval_cpu_seconds": {}}
    if train_s < 60 and old:  # a resumed, already finished run: keep the first run's training times
        row.update({key: old[key] for key in ("train_seconds", "train_cpu_seconds") if key in old})
    for variant, extra in VARIANTS:
        eval_dir = run_dir / f"eval_{variant}"
        done = eval_dir / "metrics.json"
        if done.is_file() and json.loads(done.read_text()).get("episodes") == episodes and \
                done.stat().st_mtime >= latest_checkpoint_time(run_dir):
            print(f"reusing {done} (newer than the latest checkpoint)")
            for key in ("eval_seconds", "eval_cpu_seconds"):
                if variant in old.get(key, {}):
                    row[key][variant] = old[key][variant]
            row[variant] = {key: float(json.loads(done.read_text())[key]) for key in (*KEYS, "osr", "ne", "tl")}
            continue
        wall, cpu = vlnsim(
            ["eval", "--ckpt", str(run_dir), "--split", "val_unseen", "--episodes", str(episodes), "--seed", "0",
             "--data-root", str(data_root), "--out", str(eval_dir), "--no-progress", *extra])
        row["eval_seconds"][variant], row["eval_cpu_seconds"][variant] = round(wall, 1), round(cpu, 1)
        m = json.loads((eval_dir / "metrics.json").read_text())
        row[variant] = {key: float(m[key]) for key in (*KEYS, "osr", "ne", "tl")}
    from vlnsim.io_utils import atomic_write_text

    atomic_write_text(row_file, json.dumps(row, indent=2, sort_keys=True) + "\n")
    return row


def table(rows: List[Dict]) -> str:
    """The ladder as a Markdown table (one row per rung)."""
    lines = ["| rung | config | SR | SPL | nDTW | SR, instruction padded | SR, images blanked | "
             "train min (CPU) | eval min (CPU) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["rung"]):
        f, ni, nv = r["full"], r["no_instruction"], r["no_vision"]
        lines.append(f"| {r['rung']} | `{r['config']}` | {f['sr']:.3f} | {f['spl']:.3f} | {f['ndtw']:.3f} | "
                     f"{ni['sr']:.3f} ({ni['sr'] - f['sr']:+.3f}) | {nv['sr']:.3f} ({nv['sr'] - f['sr']:+.3f}) | "
                     f"{_minutes(r, 'train')} | {_minutes(r, 'eval')} |")
    return "\n".join(lines)


def _minutes(row: Dict, what: str) -> str:
    wall, cpu = row[f"{what}_seconds"], row.get(f"{what}_cpu_seconds")
    if isinstance(wall, dict):
        if len(wall) < len(VARIANTS):
            return "-"
        wall, cpu = sum(wall.values()), (sum(cpu.values()) if cpu and len(cpu) == len(VARIANTS) else None)
    return f"{wall / 60:.1f}" + (f" ({cpu / 60:.1f})" if cpu is not None else "")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rungs", default="1,2,3,4,5,6", help="comma-separated rung numbers (default all)")
    ap.add_argument("--episodes", type=int, default=100, help="val_unseen episodes per evaluation (default 100)")
    ap.add_argument("--out", default="runs/ladder", help="run directories and the table (default runs/ladder)")
    ap.add_argument("--data-root", default="data", help="data root (default data/)")
    ap.add_argument("--fresh", action="store_true", help="retrain the rungs from scratch")
    ap.add_argument("--table-only", action="store_true", help="print the table of the rows already measured")
    args = ap.parse_args(argv)
    out, data_root = ROOT / args.out, ROOT / args.data_root
    if not args.table_only:
        for k in [int(x) for x in args.rungs.split(",") if x.strip()]:
            run_rung(k, out, data_root, args.episodes, args.fresh)
    rows = [json.loads(p.read_text()) for p in sorted(out.glob("*/ladder_row.json"))]
    if not rows:
        raise SystemExit(f"ladder: no measured rungs under {out}")
    text = table(rows)
    from vlnsim.io_utils import atomic_write_text

    atomic_write_text(out / "ladder.md", text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
