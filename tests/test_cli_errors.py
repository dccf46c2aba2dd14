"""Bad command-line inputs: each is one ``vlnsim CMD: error: ...`` line and exit code 2,
with nothing written or lost. Also ``--max-steps``, ``--fresh`` and ``--resume`` rules."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlnsim.cli import main as cli_main

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = str(REPO / "configs" / "il_cma_demo_cpu.yaml")


def _error(capsys, argv, *needles):
    """Run ``vlnsim argv``; assert exit code 2 and one error line holding every needle."""
    capsys.readouterr()
    rc = cli_main(argv)
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.strip()]
    assert rc == 2, err
    errors = [l for l in lines if ": error: " in l]
    assert len(errors) == 1 and errors[0].startswith(f"vlnsim {argv[0]}: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in errors[0], (n, errors[0])
    return errors[0]


def _train(tiny_overrides, run_dir, *extra):
    return ["train", "--config", DEMO_CONFIG, "--run-dir", str(run_dir), "--no-progress",
            *[a for kv in tiny_overrides for a in ("--set", kv)], *extra]


# ----- configs --------------------------------------------------------------------------------------
def test_yaml_syntax_error_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer:\n  lr: 1e-3\n  iterations: 2: 3\n")
    _error(capsys, ["train", "--config", str(bad)], str(bad), "YAML syntax error", "line 3")


def test_empty_yaml_is_refused(tmp_path, capsys):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n")
    _error(capsys, ["train", "--config", str(empty)], str(empty), "is empty")


def test_unknown_key_and_wrong_type_name_file_and_key(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("trainer:\n  lrr: 0.1\n")
    _error(capsys, ["train", "--config", str(cfg)], str(cfg), "unknown key 'trainer.lrr'", "'lr'")
    cfg.write_text("trainer:\n  iterations: many\n")
    _error(capsys, ["train", "--config", str(cfg)], str(cfg), "trainer.iterations", "many")
    cfg.write_text("policy:\n  depth:\n    output_dim: 0\n")
    _error(capsys, ["train", "--config", str(cfg)], str(cfg), "policy.depth.output_dim=0", "expected an integer >= 1")
    cfg.write_text("env:\n  widht: 64\n")
    _error(capsys, ["train", "--config", str(cfg)], str(cfg), "unknown key 'env.widht'")
    cfg.write_text("trainer:\n  type: nope\n")
    _error(capsys, ["train", "--config", str(cfg)], "trainer.type", "unknown trainer 'nope'", "dagger")


def test_missing_config_file(tmp_path, capsys):
    _error(capsys, ["train", "--config", str(tmp_path / "nope.yaml")], "nope.yaml")


# ----- train: data and run directory ------------------------------------------------------------------
def test_train_with_missing_data_root_or_split_leaves_no_run_dir(tiny_overrides, tmp_path, capsys):
    run = tmp_path / "run"
    _error(capsys, _train(tiny_overrides, run, "--data-root", str(tmp_path / "no_data")),
           "env.data_root", "no_data", "is not a directory")
    assert not run.exists()
    _error(capsys, _train(tiny_overrides, run, "--set", "env.split=nosplit"),
           "split 'nosplit'", "available splits", "train")
    assert not run.exists()
    _error(capsys, _train(tiny_overrides, run, "--set", "eval.split=val_nope"), "split 'val_nope'")
    assert not run.exists()


def test_train_failing_before_its_first_checkpoint_leaves_no_run_dir(tiny_overrides, tmp_path, capsys):
    run = tmp_path / "run"
    _error(capsys, _train(tiny_overrides, run, "--max-steps", "1", "--set", f"policy.vision.clip={tmp_path / 'no_clip'}"),
           "CLIP model", "no_clip")
    assert not run.exists()


def test_max_steps_existing_run_fresh_and_resume_rules(tiny_overrides, tmp_path, capsys):
    run = tmp_path / "run"
    assert cli_main(_train(tiny_overrides, run, "--max-steps", "2")) == 0
    assert "steps: 2" in capsys.readouterr().out
    latest = json.loads((run / "checkpoints" / "latest.json").read_text())
    meta = json.loads((run / "checkpoints" / latest["checkpoint"] / "trainer_state.json").read_text())
    assert meta["global_step"] == 2
    # an existing run without --resume/--fresh is refused and left as it was
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    _error(capsys, _train(tiny_overrides, run, "--max-steps", "1"), str(run), "already holds a run", "--resume", "--fresh")
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before
    # --resume refuses a changed architecture or dataset
    _error(capsys, _train(tiny_overrides, run, "--resume", "--max-steps", "1", "--set", "policy.hidden_size=48"),
           "--resume", "policy.hidden_size changed from 32 to 48")
    _error(capsys, _train(tiny_overrides, run, "--resume", "--max-steps", "1", "--set", "env.split=val_seen"),
           "env.split changed")
    # ... applies a changed learning rate, with a warning
    capsys.readouterr()
    assert cli_main(_train(tiny_overrides, run, "--resume", "--max-steps", "1", "--set", "trainer.lr=0.0007")) == 0
    captured = capsys.readouterr()
    assert "warning: --resume applies changed settings: trainer.lr: 0.003 -> 0.0007" in captured.err
    latest = json.loads((run / "checkpoints" / "latest.json").read_text())
    meta = json.loads((run / "checkpoints" / latest["checkpoint"] / "trainer_state.json").read_text())
    assert meta["global_step"] == 3
    assert [g["lr"] for g in meta["optimizer"]["param_groups"]] == [0.0007]
    assert meta["config"]["trainer"]["lr"] == 0.0007
    # --fresh deletes the earlier run and starts over
    assert cli_main(_train(tiny_overrides, run, "--fresh", "--max-steps", "1")) == 0
    latest = json.loads((run / "checkpoints" / "latest.json").read_text())
    meta = json.loads((run / "checkpoints" / latest["checkpoint"] / "trainer_state.json").read_text())
    assert meta["global_step"] == 1 and latest["checkpoint"] == "ckpt_0000"


def test_max_steps_must_be_positive(tiny_overrides, tmp_path, capsys):
    _error(capsys, _train(tiny_overrides, tmp_path / "run", "--max-steps", "0"), "--max-steps 0")
    assert not (tmp_path / "run").exists()


# ----- eval / render-rollout outputs ------------------------------------------------------------------
def test_out_of_the_wrong_kind(data_root, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    common = ["--agent", "random", "--data-root", str(data_root), "--dataset", "agents_tiny", "--episodes", "1"]
    _error(capsys, ["eval", *common, "--out", str(afile), "--no-progress"], "--out", str(afile), "existing file")
    _error(capsys, ["render-rollout", *common, "--out", str(afile)], "--out", str(afile), "existing file")
    _error(capsys, ["eval", *common, "--out", str(afile / "sub"), "--no-progress"], "--out", "is a file")
    assert afile.read_text() == "keep me"


@pytest.mark.parametrize("fps", ["0", "-2", "nan"])
def test_render_rollout_fps_must_be_positive(data_root, tmp_path, capsys, fps):
    _error(capsys, ["render-rollout", "--agent", "random", "--data-root", str(data_root), "--dataset", "agents_tiny",
                    "--out", str(tmp_path / "v"), "--fps", fps], "--fps", "expected a positive frame rate")
    assert not (tmp_path / "v").exists()


def test_unknown_baseline_agent_lists_the_registry(capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["eval", "--agent", "nobody", "--out", "x"])
    assert exc.value.code == 2
    assert "invalid choice: 'nobody'" in capsys.readouterr().err


# ----- eval -----------------------------------------------------------------------------------------
def test_eval_refuses_negative_threads(tmp_path, capsys):
    _error(capsys, ["eval", "--agent", "random", "--threads", "-3", "--out", str(tmp_path / "e")],
           "--threads -3", "positive")


def test_eval_refuses_a_checkpoint_without_a_navigation_env(tmp_path, capsys):
    """A valid checkpoint of a non-navigation run (pretraining, fine-tuning) records no env."""
    import torch

    from agents.trainers.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "run" / "checkpoints", 0, torch.nn.Linear(2, 2), None, {"kind": "pretrain"})
    _error(capsys, ["eval", "--ckpt", str(tmp_path / "run"), "--out", str(tmp_path / "e")],
           str(tmp_path / "run"), "records no navigation environment")
    assert not (tmp_path / "e" / "metrics.json").exists()


def test_dagger_trainer_refuses_a_discrete_policy(tmp_path, capsys, tiny_overrides):
    cfg = tmp_path / "mixed.yaml"
    cfg.write_text("policy:\n  type: r2r_seq2seq\n")
    env = [kv for kv in tiny_overrides if kv.startswith("env.")]
    _error(capsys, ["train", "--config", str(cfg), "--run-dir", str(tmp_path / "run"), "--no-progress",
                    *[a for kv in env for a in ("--set", kv)]],
           "policy.type='r2r_seq2seq'", "discrete", "cma")
    assert not (tmp_path / "run").exists()
