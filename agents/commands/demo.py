"""``vlnsim demo``: the main job, end to end, on the built-in procedural dataset.

Generates a small procedural VLN-CE dataset, trains the CPU demo agent (CMA, tiny CLIP,
DAgger), evaluates it against the baselines on val_unseen, renders a few rollout videos,
prints a table and writes an HTML report (``<out>/report/index.html``, see
``vlnsim report``). Everything goes under ``--out`` (default ``runs/demo/``); a second
run reuses the dataset and the checkpoint unless ``--fresh`` is given.

Each stage goes through the same public CLI commands a user would run
(``vlnsim generate``, ``vlnsim train``, ``vlnsim eval``, ``vlnsim render-rollout``), so
the demo exercises exactly what the README documents.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Dict, List

from vlnsim.io_utils import atomic_write_text

TABLE_KEYS = ("sr", "spl", "ndtw", "osr", "ne", "tl")
DEMO_EXTRA_TRAIN_HOUSES = 170


def _run(argv: List[str]) -> None:
    """Run one vlnsim sub-command in-process; raise if it fails."""
    from vlnsim.cli import main as cli_main

    print(f"\n$ vlnsim {' '.join(argv)}", flush=True)
    rc = cli_main(argv)
    if rc != 0:
        raise SystemExit(f"vlnsim demo: step 'vlnsim {argv[0]}' failed with exit code {rc}")


def run_parallel(commands: Dict[str, List[str]], jobs: int, log_dir: Path) -> None:
    """Run independent ``vlnsim`` commands, ``jobs`` at a time, each in its own process.

    With one job they run in this process, one after the other (output as it comes).
    Otherwise each writes its output to ``<log_dir>/<name>.log``; the last line of each is
    printed when it finishes, and a failure names the command and its log.
    """
    if jobs <= 1:
        for cmd in commands.values():
            _run(cmd)
        return
    import subprocess

    log_dir.mkdir(parents=True, exist_ok=True)
    pending = list(commands.items())
    running: List = []
    while pending or running:
        while pending and len(running) < jobs:
            name, cmd = pending.pop(0)
            log = log_dir / f"{_dirname(name)}.log"
            print(f"$ vlnsim {' '.join(cmd)}   (output: {log})", flush=True)
            fh = open(log, "w")
            proc = subprocess.Popen([sys.executable, "-c", "import sys; from vlnsim.cli import main; sys.exit(main())",
                                     *cmd, "--no-progress"], stdout=fh, stderr=subprocess.STDOUT)
            running.append((name, cmd, log, fh, proc))
        time.sleep(0.2)
        for item in list(running):
            name, cmd, log, fh, proc = item
            if proc.poll() is None:
                continue
            fh.close()
            running.remove(item)
            if proc.returncode != 0:
                for _, _, _, f2, p2 in running:
                    p2.kill()
                    f2.close()
                raise SystemExit(f"vlnsim demo: step 'vlnsim {' '.join(cmd)}' failed with exit code "
                                 f"{proc.returncode}; its output is in {log}")
            lines = log.read_text().strip().splitlines()
            print(f"  {name}: {lines[-1] if lines else 'done'}", flush=True)


def _stage(title: str) -> float:
    print(f"\n==== {title} ====", flush=True)
    return time.perf_counter()


def _dirname(agent: str) -> str:
    """Folder name of an agent's evaluation ("cma (no vision)" -> "cma_no_vision")."""
    return agent.replace(" ", "_").replace("(", "").replace(")", "")


def format_table(summary: Dict[str, Dict[str, float]]) -> str:
    """A plain-text table of the headline metrics of each agent."""
    header = f"{'agent':<26}" + "".join(f"{k.upper():>8}" for k in TABLE_KEYS) + f"{'episodes':>10}"
    lines = [header, "-" * len(header)]
    for name, m in summary.items():
        row = f"{name:<26}" + "".join(f"{float(m.get(k, float('nan'))):>8.3f}" for k in TABLE_KEYS)
        lines.append(row + f"{int(m.get('episodes', 0)):>10d}")
    return "\n".join(lines)


def distinct_paths(data_root: Path, dataset: str, split: str, ids: List[str]) -> List[str]:
    """``ids`` in order, keeping the first episode of each reference path (trajectory)."""
    from vlnsim.episodes import load_split

    trajectory = {str(e.episode_id): e.trajectory_id for e in load_split(data_root, dataset, split)}
    seen, out = set(), []
    for i in ids:
        t = trajectory.get(str(i), i)
        if t not in seen:
            seen.add(t)
            out.append(i)
    return out


def main(args: argparse.Namespace) -> int:
    t_start = time.perf_counter()
    out = Path(args.out)
    data_root = Path(args.data_root)
    if args.jobs < 1:
        from vlnsim.errors import ConfigError

        raise ConfigError(f"--jobs {args.jobs}; expected an integer >= 1")
    if args.fresh:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(data_root / "datasets" / args.dataset, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    from vlnsim.builtin_configs import resolve_config

    config = resolve_config(args.config or "il_cma_demo_cpu")  # a path or a built-in name (shipped in the wheel)

    # 1. dataset --------------------------------------------------------------
    t = _stage("1/5 dataset")
    split_file = data_root / "datasets" / args.dataset / "v1" / "val_unseen" / "val_unseen.json.gz"
    if split_file.is_file():
        print(f"reusing the dataset at {split_file.parent.parent} (pass --fresh to regenerate)")
    else:
        _run(["generate", "--name", args.dataset, "--houses", str(args.houses),
              "--episodes-per-house", str(args.episodes_per_house), "--seed", str(args.seed),
              "--extra-train-houses", str(args.extra_train_houses), "--workers", str(max(1, args.jobs)),
              "--data-root", str(data_root)])
    print(f"[{time.perf_counter() - t:.0f} s]")

    # 2. training ---------------------------------------------------------------
    t = _stage("2/5 training the CMA agent (imitation learning with DAgger)")
    run_dir = out / "train"
    _run(["train", "--config", str(config), "--run-dir", str(run_dir), "--data-root", str(data_root),
          "--resume", "--set", f"env.dataset={args.dataset}", *[a for kv in args.train_set for a in ("--set", kv)]])
    print(f"[{time.perf_counter() - t:.0f} s]")

    # 3. evaluation ---------------------------------------------------------------
    t = _stage(f"3/5 evaluation on {args.split}")
    agents: Dict[str, List[str]] = {"cma": ["--ckpt", str(run_dir)]}
    if args.ablations:
        agents["cma (no instruction)"] = ["--ckpt", str(run_dir), "--ablate", "instruction"]
        agents["cma (no vision)"] = ["--ckpt", str(run_dir), "--ablate", "vision"]
    from envs.baselines import BASELINES

    for b in BASELINES.names():
        agents[b] = ["--agent", b]
    commands = {}
    for name, who in agents.items():
        cmd = ["eval", *who, "--split", args.split, "--out", str(out / "eval" / _dirname(name)),
               "--data-root", str(data_root), "--dataset", args.dataset, "--seed", str(args.seed)]
        if args.eval_episodes:
            cmd += ["--episodes", str(args.eval_episodes)]
        commands[name] = cmd
    # the blind agent rarely stops (500 steps an episode): the longest jobs start first
    slow_first = sorted(commands, key=lambda n: (n != "cma (no vision)", n != "cma (no instruction)", n != "cma"))
    run_parallel({n: commands[n] for n in slow_first}, args.jobs, out / "eval")
    summary: Dict[str, Dict[str, float]] = {
        name: json.loads((out / "eval" / _dirname(name) / "metrics.json").read_text()) for name in agents}
    print(f"[{time.perf_counter() - t:.0f} s]")

    # 4. videos --------------------------------------------------------------------
    t = _stage("4/5 rollout videos")
    video_dirs = {}
    if args.rollouts > 0:
        # The CMA agent sees at its training resolution (the demo config's 64x64).
        cma = ["--ckpt", str(run_dir), "--width", str(args.agent_resolution), "--height", str(args.agent_resolution)]
        # render evaluated episodes, so the report shows each video on its episode's page,
        # one per reference path (a path has three instructions)
        ids = [json.loads(l)["episode_id"] for l in (out / "eval" / "cma" / "episodes.jsonl").read_text().splitlines()]
        ids = distinct_paths(data_root, args.dataset, args.split, ids)
        pick = ["--set", f"episode_ids=[{','.join(ids[: args.rollouts])}]"] if ids else []
        for name, who in (("cma", cma), ("expert", ["--agent", "expert"])):
            vdir = out / "videos" / name
            _run(["render-rollout", *who, "--split", args.split, "--episodes", str(args.rollouts),
                  "--out", str(vdir), "--data-root", str(data_root), "--dataset", args.dataset, *pick])
            video_dirs[name] = vdir
    print(f"[{time.perf_counter() - t:.0f} s]")

    # 5. summary ---------------------------------------------------------------------
    _stage("5/5 summary")
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print(format_table(summary))
    print(f"\nsummary:      {out / 'summary.json'}")
    print(f"metrics JSON: {out / 'eval'}/<agent>/metrics.json (+ episodes.jsonl)")
    print(f"TensorBoard:  tensorboard --logdir {run_dir}")
    for name, vdir in video_dirs.items():
        vids = sorted(vdir.glob("*.mp4"))
        print(f"videos ({name}): {vdir} ({len(vids)} MP4)")
    from agents.report import build_report

    report = build_report([out / "eval", run_dir, out / "videos"], out / "report", data_root=data_root,
                          dataset=args.dataset, split=args.split, title="vlnsim demo report")
    print(f"HTML report:  {report}  (open it in a browser; static files, no server)")
    print(f"\nvlnsim demo finished in {time.perf_counter() - t_start:.0f} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job: generate data, train, evaluate vs baselines, render videos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data-root", default="data", help="data root (default data/)")
    p.add_argument("--dataset", default="procgen_r2r", help="dataset name (default procgen_r2r)")
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--config", default=None, help="training config: a YAML path or a built-in name (default il_cma_demo_cpu; `vlnsim configs` lists them)")
    p.add_argument("--houses", type=int, default=30, help="houses in the generated dataset (default 30)")
    p.add_argument("--episodes-per-house", type=int, default=50, help="episodes per house (default 50)")
    p.add_argument("--split", default="val_unseen", help="evaluation split (default val_unseen)")
    p.add_argument("--eval-episodes", type=int, default=100, help="episodes per evaluation (default 100; 0 = all)")
    p.add_argument("--rollouts", type=int, default=2, help="videos per agent (default 2)")
    p.add_argument("--agent-resolution", type=int, default=64, help="sensor size the demo agent was trained at (default 64)")
    p.add_argument("--extra-train-houses", type=int, default=DEMO_EXTRA_TRAIN_HOUSES, metavar="N",
                   help=f"houses added to the train split only (default {DEMO_EXTRA_TRAIN_HOUSES}; "
                        "more data is the cheapest gain of the ladder, README 'Ladder')")
    p.add_argument("--no-ablations", dest="ablations", action="store_false",
                   help="skip the evaluations with the instruction replaced by padding and with images blanked "
                        "(they show what the agent relies on; on by default)")
    p.add_argument("--seed", type=int, default=0, help="seed of dataset generation and evaluation (default 0)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
                   help="evaluations run N at a time in separate processes (default: min(2, CPU cores)); "
                        "1 runs them in this process")
    p.add_argument("--train-set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a training config field (repeatable), e.g. trainer.iterations=2")
    p.add_argument("--fresh", action="store_true", help="start over: delete the demo dataset and outputs first")
    p.set_defaults(func=main)
