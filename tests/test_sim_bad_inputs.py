"""Bad inputs to the simulator side: one line naming the file or argument, a non-zero exit, no lost data.

Each case goes through ``vlnsim.cli.main`` (return code + stderr) or the function
raising its specific ``VlnsimError``.
"""
from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from vlnsim import episodes as E
from vlnsim.cli import main as cli_main
from vlnsim.errors import EpisodeFormatError, InvalidPoseError, SceneFileError
from vlnsim.nav.boxworld import walled_room
from vlnsim.scene.io import load_scene, save_scene
from vlnsim.simulator import Simulator


def _one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"vlnsim {command}: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


# ---------------------------------------------------------------------- episode files
def _split_dir(root: Path) -> Path:
    d = root / "datasets" / "ds" / "v1" / "train"
    d.mkdir(parents=True)
    return d


@pytest.mark.parametrize("damage", ["garbled", "truncated", "bad_json"])
def test_corrupted_json_gz(tmp_path, capsys, damage):
    path = _split_dir(tmp_path) / "train.json.gz"
    good = gzip.compress(json.dumps({"episodes": [], "instruction_vocab": {"word_list": []}}).encode() * 20, mtime=0)
    if damage == "garbled":  # the gzip header survives, the deflate stream does not: zlib.error
        raw = bytearray(good)
        raw[12:40] = bytes(range(28))
        path.write_bytes(bytes(raw))
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    else:
        path.write_bytes(gzip.compress(b'{"episodes": [', mtime=0))
    with pytest.raises(EpisodeFormatError, match="train.json.gz"):
        E.load(path)
    rc = cli_main(["dataset-stats", str(tmp_path / "datasets" / "ds" / "v1")])
    assert rc == 2
    err = _one_line_error(capsys, "dataset-stats")
    assert "train.json.gz" in err and ("corrupted" in err or "malformed JSON" in err)


# ---------------------------------------------------------------------- generate
GEN = ["--houses", "1", "--episodes-per-house", "3", "--seed", "7", "--quiet"]


def test_generate_never_overwrites_another_datasets_house(tmp_path, capsys):
    root = str(tmp_path)
    assert cli_main(["generate", "--name", "a", "--rooms", "4", "--data-root", root, *GEN]) == 0
    glb = tmp_path / "scene_datasets" / "procgen" / "house_70000" / "house_70000.glb"
    before = glb.read_bytes()
    side_before = glb.with_name("house_70000.semantic.json").read_bytes()
    capsys.readouterr()
    # same house name, different content (5 rooms): refused, nothing replaced, no dataset written
    assert cli_main(["generate", "--name", "b", "--rooms", "5", "--data-root", root, *GEN]) == 2
    err = _one_line_error(capsys, "generate")
    assert "refusing to overwrite" in err and "house_70000.glb" in err
    assert glb.read_bytes() == before and glb.with_name("house_70000.semantic.json").read_bytes() == side_before
    assert not (tmp_path / "datasets" / "b").exists()
    assert E.load_split(root, "a", "train").scene_ids  # the first dataset still loads
    # the same house again (same options) is shared, not an error
    assert cli_main(["generate", "--name", "c", "--rooms", "4", "--data-root", root, *GEN]) == 0
    assert glb.read_bytes() == before


@pytest.mark.parametrize("name", ["../../x", "/abs/x", "a/b", "..", ""])
def test_generate_name_escaping_the_data_root(tmp_path, capsys, name):
    root = tmp_path / "root"
    assert cli_main(["generate", "--name", name, "--data-root", str(root), *GEN]) == 2
    err = _one_line_error(capsys, "generate")
    assert f"--name {name!r}" in err
    assert not root.exists() and not (tmp_path / "x").exists()


# ---------------------------------------------------------------------- positions
def test_position_given_as_a_string():
    sim = Simulator(walled_room(0, 0, 3, 3).to_scene(), sensors=[])
    for bad in ("1,0,2", ["1", "0", "2"], "123"):
        with pytest.raises(InvalidPoseError, match="position must be 3 numbers"):
            sim.reset(bad)
    with pytest.raises(InvalidPoseError, match="start must be 3 numbers.*'abc'"):
        sim.pathfinder.geodesic_distance("abc", [1, 0, 1])
    with pytest.raises(InvalidPoseError, match="goal must be 3 numbers"):
        sim.pathfinder.find_path([1, 0, 1], "1 0 2")
    with pytest.raises(InvalidPoseError, match="rotation must be a quaternion"):
        sim.reset([1, 0, 1], "0,0,0,1")


# ---------------------------------------------------------------------- scene files
def _glb(tmp_path: Path) -> Path:
    path = tmp_path / "room.glb"
    save_scene(walled_room(0, 0, 2, 2).to_scene(), path)
    return path


def _rewrite_glb_json(path: Path, edit) -> None:
    """Apply ``edit(doc)`` to a GLB's JSON chunk and write it back (re-padded)."""
    raw = path.read_bytes()
    n, _ = struct.unpack_from("<I4s", raw, 12)
    doc = json.loads(raw[20:20 + n])
    rest = raw[20 + n:]
    edit(doc)
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    body = struct.pack("<I4s", len(js), b"JSON") + js + rest
    path.write_bytes(b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body)


def test_scene_file_damage_gives_the_real_cause(tmp_path, capsys):
    empty = tmp_path / "empty.glb"
    empty.write_bytes(b"")
    lfs = tmp_path / "lfs.glb"
    lfs.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 123456\n")
    cut = tmp_path / "cut.glb"
    cut.write_bytes(_glb(tmp_path).read_bytes()[:300])
    nodes = tmp_path / "nodes.gltf"
    nodes.write_text(json.dumps({"asset": {"version": "2.0"}, "scenes": [{"nodes": []}], "nodes": []}))
    cases = {empty: "empty (0 bytes)", lfs: "Git LFS pointer", cut: "truncated GLB: the header says",
             nodes: "no scene or nodes"}
    for path, cause in cases.items():
        with pytest.raises(SceneFileError) as exc:
            load_scene(path)
        assert str(path) in str(exc.value) and cause in str(exc.value)
        rc = cli_main(["view", str(path), "--out", str(tmp_path / "out"), "--width", "8", "--height", "8"])
        assert rc == 2
        err = _one_line_error(capsys, "view")
        assert cause in err and path.name in err


@pytest.mark.parametrize("feature,expect", [
    ({"extensionsUsed": ["KHR_texture_basisu"]}, "KHR_texture_basisu"),
    ({"extensionsUsed": ["EXT_meshopt_compression"]}, "EXT_meshopt_compression"),
    ({"extensionsUsed": ["KHR_draco_mesh_compression"]}, "KHR_draco_mesh_compression"),
    ({"images": [{"uri": "textures/wood.png"}]}, "external texture 'textures/wood.png', which is missing"),
    ({"images": [{"uri": "wood.ktx2", "mimeType": "image/ktx2"}]}, "KTX2 texture"),
])
def test_unsupported_gltf_features_warn_naming_the_file(tmp_path, feature, expect):
    path = _glb(tmp_path)
    _rewrite_glb_json(path, lambda doc: doc.update(feature))
    with pytest.warns(UserWarning, match=expect) as rec:
        scene = load_scene(path)
    assert any(str(path) in str(w.message) for w in rec)
    assert scene.num_triangles > 0  # the geometry still loads


def test_clean_file_does_not_warn(tmp_path):
    path = _glb(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scene(path)


# ---------------------------------------------------------------------- tokenizer
_TOKENIZE = """
import sys
from vlnsim.episodes.vocab import train_tokenizer
words = "walk past the kitchen table turn left into the bedroom stop near sofa hallway door bathroom".split()
texts = [" ".join(words[(i * 7 + k * 3) % len(words)] for k in range(9)) + "." for i in range(200)]
sys.stdout.write(train_tokenizer(texts, vocab_size=150).to_str())
"""


def test_wordpiece_tokenizer_json_is_byte_identical_across_runs():
    runs = [subprocess.run([sys.executable, "-c", _TOKENIZE], capture_output=True, check=True).stdout for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(runs[0].decode())
    enc = tok.encode("Walk past the kitchen.")
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]" and "[UNK]" not in enc.tokens
    assert tok.decode(enc.ids) == "walk past the kitchen."


# ---------------------------------------------------------------------- output paths
def test_output_paths_of_the_wrong_kind(tmp_path, capsys):
    a_file = tmp_path / "taken"
    a_file.write_text("keep me")
    assert cli_main(["view", "--house", "1", "--out", str(a_file), "--width", "8", "--height", "8"]) == 2
    assert "--out" in _one_line_error(capsys, "view") and a_file.read_text() == "keep me"
    ds = tmp_path / "datasets" / "ds" / "v1"
    assert cli_main(["dataset-stats", str(ds), "--json", str(tmp_path)]) == 2
    assert "--json" in _one_line_error(capsys, "dataset-stats")
