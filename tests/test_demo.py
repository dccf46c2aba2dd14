"""The main job end to end (`vlnsim demo`) on a tiny procedural dataset.

This is the default run's real end-to-end test: it generates houses and episodes,
trains the CMA agent for one DAgger iteration, evaluates it and the three baselines,
renders a rollout video and checks the summary against the per-agent metrics files.
"""
import json
import re

import imageio.v3 as iio
import pytest

from vlnsim.cli import main as cli_main

METRIC_KEYS = {"ne", "sr", "osr", "spl", "tl", "ndtw", "sdtw", "cls", "episodes"}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    argv = [
        "demo", "--data-root", str(root / "data"), "--out", str(root / "out"),
        "--houses", "5", "--episodes-per-house", "6", "--extra-train-houses", "1", "--eval-episodes", "4",
        "--rollouts", "2",
        "--train-set", "trainer.iterations=1", "--train-set", "trainer.episodes_per_iteration=6",
        "--train-set", "trainer.epochs_per_iteration=1", "--train-set", "trainer.num_envs=2",
        "--train-set", "eval.episodes=2",
    ]
    assert cli_main(argv) == 0
    return root, argv


def test_demo_writes_summary_metrics_and_videos(demo_run, capsys):
    root, _ = demo_run
    out = root / "out"
    summary = json.loads((out / "summary.json").read_text())
    # the two ablations run by default
    assert set(summary) == {"cma", "cma (no instruction)", "cma (no vision)", "random", "forward-only", "expert"}
    for name, metrics in summary.items():
        assert METRIC_KEYS <= set(metrics), name
        assert 0.0 <= metrics["sr"] <= 1.0 and 0.0 <= metrics["spl"] <= metrics["sr"] + 1e-9
        # the summary is exactly the metrics.json the eval command wrote
        eval_dir = out / "eval" / name.replace(" (", "_").replace(" ", "_").rstrip(")")  # "cma (no vision)" -> cma_no_vision
        assert json.loads((eval_dir / "metrics.json").read_text()) == metrics
        lines = (eval_dir / "episodes.jsonl").read_text().splitlines()
        assert len(lines) == metrics["episodes"] == 4
    # the expert is the upper bound; forward-only never stops near the goal by design here
    assert summary["expert"]["sr"] == 1.0
    assert summary["expert"]["spl"] >= max(summary["random"]["spl"], summary["forward-only"]["spl"])
    videos = sorted((out / "videos").glob("*/*.mp4"))
    assert {v.parent.name for v in videos} == {"cma", "expert"}
    # one video per reference path: the two rendered episodes are on different paths
    from vlnsim.episodes import load_split

    traj = {str(e.episode_id): e.trajectory_id for e in load_split(root / "data", "procgen_r2r", "val_unseen")}
    rendered = [json.loads(l)["episode_id"] for l in (out / "eval" / "cma" / "episodes.jsonl").read_text().splitlines()]
    cma_videos = sorted((out / "videos" / "cma").glob("*.mp4"))
    assert len(cma_videos) == 2
    ids = [re.search(r"_ep(\w+?)_", v.name).group(1) for v in cma_videos]
    assert all(i in rendered for i in ids), (ids, rendered)
    assert traj[ids[0]] != traj[ids[1]]
    frames = iio.imread(videos[0])
    assert frames.ndim == 4 and frames.shape[-1] == 3 and len(frames) >= 2
    assert list((out / "train").rglob("*.safetensors")), "no safetensors checkpoint written"
    assert list((out / "train").rglob("events.out.tfevents*")), "no TensorBoard log written"


def test_demo_second_run_reuses_dataset_and_checkpoint(demo_run, capsys):
    root, argv = demo_run
    dataset = root / "data" / "datasets" / "procgen_r2r" / "v1" / "train" / "train.json.gz"
    ckpts = sorted(p for p in (root / "out" / "train").rglob("*.safetensors"))
    before = {p: p.stat().st_mtime_ns for p in [dataset, *ckpts]}
    capsys.readouterr()
    assert cli_main([*argv, "--no-ablations", "--rollouts", "0"]) == 0  # the reuse is what is checked here
    printed = capsys.readouterr().out
    assert "reusing the dataset" in printed
    assert {p: p.stat().st_mtime_ns for p in before} == before
