"""The main job end to end (`vlnsim demo`) on a tiny procedural dataset.

This is the default run's real end-to-end test: it generates houses and episodes,
trains the CMA agent for one DAgger iteration, evaluates it and the three baselines,
renders a rollout video and checks the summary against the per-agent metrics files.
"""
import json

import imageio.v3 as iio
import pytest

from vlnsim.cli import main as cli_main

METRIC_KEYS = {"ne", "sr", "osr", "spl", "tl", "ndtw", "sdtw", "cls", "episodes"}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    argv = [
        "demo", "--data-root", str(root / "data"), "--out", str(root / "out"),
        "--houses", "5", "--episodes-per-house", "6", "--eval-episodes", "4", "--rollouts", "1",
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
    assert set(summary) == {"cma", "random", "forward-only", "expert"}
    for name, metrics in summary.items():
        assert METRIC_KEYS <= set(metrics), name
        assert 0.0 <= metrics["sr"] <= 1.0 and 0.0 <= metrics["spl"] <= metrics["sr"] + 1e-9
        # the summary is exactly the metrics.json the eval command wrote
        eval_dir = out / "eval" / name
        assert json.loads((eval_dir / "metrics.json").read_text()) == metrics
        lines = (eval_dir / "episodes.jsonl").read_text().splitlines()
        assert len(lines) == metrics["episodes"] == 4
    # the expert is the upper bound; forward-only never stops near the goal by design here
    assert summary["expert"]["sr"] == 1.0
    assert summary["expert"]["spl"] >= max(summary["random"]["spl"], summary["forward-only"]["spl"])
    videos = sorted((out / "videos").glob("*/*.mp4"))
    assert {v.parent.name for v in videos} == {"cma", "expert"}
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
    assert cli_main(argv) == 0
    printed = capsys.readouterr().out
    assert "reusing the dataset" in printed
    assert {p: p.stat().st_mtime_ns for p in before} == before
