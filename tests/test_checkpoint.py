"""Damaged checkpoints: each a one-line CheckpointError naming the file; leftovers cleaned.

The damaged files are written by hand (truncated, bit-flipped, garbled JSON, dangling
``latest.json``) and the messages are checked against what the test did to them.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from agents.trainers.checkpoint import (LATEST_FILE, META_FILE, MODEL_FILE, STATE_FILE, clean_leftovers,
                                        load_checkpoint, missing_pointer, resolve_checkpoint, restore_trainer_state,
                                        save_checkpoint)
from vlnsim.errors import CheckpointError, VlnsimError


def _save(root, iteration=0):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    return save_checkpoint(root, iteration, model, opt, {"note": "x"}), model, opt


def _error(path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert "\n" not in msg and isinstance(info.value, VlnsimError)
    return msg


def _drop_file_records(ckpt):
    """Make the checkpoint look like one written before sizes and hashes were recorded."""
    meta = json.loads((ckpt / META_FILE).read_text())
    meta.pop("files")
    (ckpt / META_FILE).write_text(json.dumps(meta))


@pytest.mark.parametrize("name", [MODEL_FILE, STATE_FILE])
def test_truncated_safetensors(tmp_path, name):
    d, _, _ = _save(tmp_path)
    data = (d / name).read_bytes()
    (d / name).write_bytes(data[: len(data) // 2])
    msg = _error(tmp_path)
    assert msg.startswith(str(d / name)) and f"{len(data) // 2} bytes but {META_FILE} recorded {len(data)}" in msg
    assert "truncated or corrupted" in msg


def test_bit_flip_in_tensor_data_fails_the_hash(tmp_path):
    d, _, _ = _save(tmp_path)
    data = bytearray((d / MODEL_FILE).read_bytes())
    data[-3] ^= 0x40  # inside the last tensor: the header still parses, the size is unchanged
    (d / MODEL_FILE).write_bytes(bytes(data))
    msg = _error(d)
    assert msg.startswith(str(d / MODEL_FILE)) and "SHA-256" in msg and "corrupted" in msg


@pytest.mark.parametrize("damage", ["truncate", "garble_header", "empty"])
def test_unreadable_safetensors_without_records_is_a_safetensor_error_reworded(tmp_path, damage):
    d, _, _ = _save(tmp_path)
    _drop_file_records(d)
    data = (d / MODEL_FILE).read_bytes()
    bad = {"truncate": data[:40], "garble_header": data[:8] + b"\xff" * 16 + data[24:], "empty": b""}[damage]
    (d / MODEL_FILE).write_bytes(bad)
    msg = _error(tmp_path)
    # safetensors' own reason ("Error while deserializing header: ...") is kept, after the file name.
    assert msg.startswith(f"{d / MODEL_FILE}: not a readable safetensors file (") and "deserializing header" in msg
    assert msg.endswith("the file is truncated or corrupted")


def test_missing_tensor_file(tmp_path):
    d, _, _ = _save(tmp_path)
    (d / STATE_FILE).unlink()
    msg = _error(tmp_path)
    assert msg == f"{d / STATE_FILE}: missing; the checkpoint is incomplete"


@pytest.mark.parametrize("text,reason", [("", "is empty"), ('{"config": {"seed": 0', "is not valid JSON"),
                                         ("\xff\xfe", "is not UTF-8"), ("[1, 2]", "expected a JSON object")])
def test_corrupted_trainer_state_json(tmp_path, text, reason):
    d, _, _ = _save(tmp_path)
    (d / META_FILE).write_bytes(text.encode("latin-1"))
    msg = _error(tmp_path)
    assert msg.startswith(str(d / META_FILE)) and reason in msg


def test_trainer_state_json_without_optimizer_or_rng(tmp_path):
    d, _, opt = _save(tmp_path)
    meta = json.loads((d / META_FILE).read_text())
    meta.pop("rng")
    (d / META_FILE).write_text(json.dumps(meta))
    _, tensors, meta = load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=r"trainer_state\.json: has no 'rng' entry"):
        restore_trainer_state(opt, tensors, meta)
    meta = json.loads((d / META_FILE).read_text())
    meta["optimizer"]["param_groups"] = []  # does not fit the optimizer
    meta["files"].pop(STATE_FILE)
    (d / META_FILE).write_text(json.dumps(meta))
    _, tensors, meta = load_checkpoint(tmp_path)
    meta["rng"] = {}
    with pytest.raises(CheckpointError, match=r"the optimizer or RNG state does not fit this trainer \(ValueError"):
        restore_trainer_state(opt, tensors, meta)


@pytest.mark.parametrize("text,reason", [("", "latest.json is empty"), ('{"checkpoint": "ckpt_00', "not valid JSON"),
                                         ("{}", 'expected {"checkpoint": "ckpt_NNNN", ...}, got {}'),
                                         ('{"checkpoint": "../../etc"}', "expected"),
                                         ('{"checkpoint": 3}', "expected")])
def test_corrupted_latest_json(tmp_path, text, reason):
    _save(tmp_path)
    (tmp_path / LATEST_FILE).write_text(text)
    with pytest.raises(CheckpointError) as info:
        resolve_checkpoint(tmp_path)
    assert str(info.value).startswith(str(tmp_path / LATEST_FILE)) and reason in str(info.value)


def test_latest_json_pointing_at_a_missing_checkpoint_names_the_intact_ones(tmp_path):
    _save(tmp_path, 0)
    d1, _, _ = _save(tmp_path, 1)
    (tmp_path / LATEST_FILE).write_text(json.dumps({"checkpoint": "ckpt_0007", "iteration": 7}))
    msg = _error(tmp_path.parent / tmp_path.name)
    assert msg == (f"{tmp_path / LATEST_FILE}: points at checkpoint 'ckpt_0007', which does not exist; "
                   "intact checkpoints here: ckpt_0000, ckpt_0001")
    (tmp_path / LATEST_FILE).write_text(json.dumps({"checkpoint": "ckpt_0001"}))
    (d1 / MODEL_FILE).unlink()
    assert _error(tmp_path).endswith(f"which lacks {MODEL_FILE}; intact checkpoints here: ckpt_0000")


def test_checkpoints_without_latest_json_are_refused_not_overwritten(tmp_path):
    missing_pointer(tmp_path / "nothing")  # no checkpoints: nothing to protect
    _save(tmp_path, 3)
    missing_pointer(tmp_path)  # latest.json is there
    (tmp_path / LATEST_FILE).unlink()
    with pytest.raises(CheckpointError, match=r"latest\.json: missing, but .* holds ckpt_0003; .*\"ckpt_0003\""):
        missing_pointer(tmp_path)


def test_leftovers_of_interrupted_saves_are_cleaned(tmp_path):
    _save(tmp_path, 0)
    d2, _, _ = _save(tmp_path, 2)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # that process has exited
    (tmp_path / f".ckpt_0003.tmp{dead_pid}").mkdir()
    (tmp_path / f".ckpt_0003.tmp{dead_pid}" / MODEL_FILE).write_bytes(b"half")
    (tmp_path / f".{LATEST_FILE}.abc123.tmp").write_text("{")
    # A crash between the two renames of a re-save of ckpt_0002: only the old copy is left.
    os.replace(d2, tmp_path / f".ckpt_0002.old{dead_pid}")
    live = tmp_path / f".ckpt_0005.tmp{os.getppid()}"  # another process's save in progress: kept
    live.mkdir()
    removed = clean_leftovers(tmp_path)
    assert sorted(removed) == sorted([f".ckpt_0003.tmp{dead_pid}", f".{LATEST_FILE}.abc123.tmp", f".ckpt_0002.old{dead_pid}"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ckpt_0000", "ckpt_0002", LATEST_FILE, live.name])
    load_checkpoint(tmp_path / "ckpt_0002")  # restored intact
    # save_checkpoint cleans too.
    (tmp_path / f".ckpt_0009.tmp{dead_pid}").mkdir()
    _save(tmp_path, 4)
    assert not (tmp_path / f".ckpt_0009.tmp{dead_pid}").exists() and live.exists()


def test_cli_eval_of_a_truncated_checkpoint_is_one_line_and_exit_2(tmp_path, capsys):
    from vlnsim.cli import main

    d, _, _ = _save(tmp_path / "run" / "checkpoints")
    data = (d / MODEL_FILE).read_bytes()
    (d / MODEL_FILE).write_bytes(data[:100])
    rc = main(["eval", "--ckpt", str(tmp_path / "run"), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err
    assert err == (f"vlnsim eval: error: {d / MODEL_FILE}: 100 bytes but {META_FILE} recorded {len(data)}; "
                   "the file is truncated or corrupted")


def test_cli_train_resume_from_damaged_run_is_one_line_and_exit_2(tmp_path, capsys, tiny_overrides):
    from vlnsim.cli import main

    run = tmp_path / "run"
    base = ["train", "--config", "il_cma_demo_cpu", "--run-dir", str(run), "--no-progress", *tiny_overrides]
    assert main(base[:1] + ["--max-steps", "1"] + base[1:]) == 0
    capsys.readouterr()
    latest = run / "checkpoints" / LATEST_FILE
    good = latest.read_text()
    state = run / "buffer" / "state_rank0_iter0000.json"

    def resume_error() -> str:
        rc = main(base[:1] + ["--resume"] + base[1:])
        err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
        assert rc == 2 and len(err) == 1, err
        return err[0]

    # What an interrupted run left behind is removed by the next resume (even one that then fails).
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout)
    leftovers = [run / "checkpoints" / f".ckpt_0001.tmp{dead}", run / "buffer" / f".rank0_iter0001.safetensors.tmp{dead}",
                 run / "buffer" / ".state_rank0_iter0001.json.x1y2.tmp"]
    leftovers[0].mkdir()
    for p in leftovers[1:]:
        p.write_bytes(b"half")
    latest.write_text('{"checkpoint": ')
    assert resume_error().startswith(f"vlnsim train: error: {latest}: latest.json is not valid JSON (")
    assert not any(p.exists() for p in leftovers)
    latest.write_text(json.dumps({"checkpoint": "ckpt_0042"}))
    assert resume_error() == (f"vlnsim train: error: {latest}: points at checkpoint 'ckpt_0042', which does not exist; "
                              "intact checkpoints here: ckpt_0000")
    latest.unlink()  # checkpoints without their pointer: refused, not overwritten by a fresh start
    assert resume_error() == (f"vlnsim train: error: {latest}: missing, but {latest.parent} holds ckpt_0000; expected "
                              'latest.json to name one (e.g. {"checkpoint": "ckpt_0000"}) to resume it, or --fresh to start over')
    latest.write_text(good)
    saved = state.read_text()
    state.write_text(saved[:10])
    assert resume_error().startswith(f"vlnsim train: error: {state}: unreadable DAgger buffer state (JSONDecodeError")
    state.write_text(saved)
    shard = run / "buffer" / "rank0_iter0000.safetensors"
    shard.write_bytes(shard.read_bytes()[:64])
    assert "a DAgger buffer shard is unreadable (SafetensorError" in resume_error()
