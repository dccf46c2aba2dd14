"""Connectivity and R2R files: hand-written fixtures in the real schemas, round trips, generated data."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from vlnsim.cli import main as cli_main
from vlnsim.discrete.connectivity import connectivity_path, graph_to_records, load_connectivity, save_connectivity
from vlnsim.episodes.r2r import load_r2r, save_r2r
from vlnsim.errors import EpisodeFormatError


def _pose(x, y, z):
    return [1, 0, 0, x, 0, 1, 0, y, 0, 0, 1, z, 0, 0, 0, 1]


# Matterport3DSimulator layout (+Z up; position in pose[3], pose[7], pose[11]; height = camera above floor).
# Three viewpoints in an L: a -> b along +X (3 m), b -> c along +Y (4 m); c is excluded in the 4th entry's copy.
FIXTURE = [
    {"image_id": "aaaa0000aaaa0000aaaa0000aaaa0000", "pose": _pose(0.0, 0.0, 1.5), "included": True,
     "visible": [True, True, True, False], "unobstructed": [False, True, False, False], "height": 1.5},
    {"image_id": "bbbb1111bbbb1111bbbb1111bbbb1111", "pose": _pose(3.0, 0.0, 1.5), "included": True,
     "visible": [True, True, True, False], "unobstructed": [True, False, True, False], "height": 1.5},
    {"image_id": "cccc2222cccc2222cccc2222cccc2222", "pose": _pose(3.0, 4.0, 1.6), "included": True,
     "visible": [True, True, True, False], "unobstructed": [False, True, False, True], "height": 1.5},
    {"image_id": "dddd3333dddd3333dddd3333dddd3333", "pose": _pose(9.0, 9.0, 1.5), "included": False,
     "visible": [False, False, False, True], "unobstructed": [False, False, True, False], "height": 1.5},
]

# Original R2R record layout (R2R_train.json), values in the style of the released file.
R2R_FIXTURE = [
    {"distance": 10.86, "scan": "VLzqgDo317F", "path_id": 6250,
     "path": ["af3af33b0120469c9a00daa0d0b36799", "5be145994f974347850a48cecd04cdcd",
              "79aedad1206b4eea9c4b639ea2182eb7"],
     "heading": 3.751, "instructions": ["Walk down one flight of stairs and stop on the landing.",
                                        "Go down the stairs and wait at the landing.",
                                        "Walk down the stairs and stop."]},
]


def test_connectivity_fixture_reads_in_vlnsim_frame(tmp_path):
    f = tmp_path / "scanA_connectivity.json"
    f.write_text(json.dumps(FIXTURE))
    g = load_connectivity(f)
    assert g.scan == "scanA" and len(g) == 4
    # Matterport (x, y, z) -> vlnsim (x, z, -y); floor = camera - height
    assert np.allclose(g.positions[2], [3.0, 0.1, -4.0])
    assert np.allclose(g.camera_positions[1], [3.0, 1.5, 0.0])
    # the edge c-d is ignored: d is not included
    assert g.neighbors("cccc2222cccc2222cccc2222cccc2222") == ["bbbb1111bbbb1111bbbb1111bbbb1111"]
    d_bc = math.sqrt(16 + 0.1 ** 2)
    assert g.distance("aaaa0000aaaa0000aaaa0000aaaa0000", "cccc2222cccc2222cccc2222cccc2222") == pytest.approx(3 + d_bc)
    assert g.shortest_path("aaaa0000aaaa0000aaaa0000aaaa0000", "cccc2222cccc2222cccc2222cccc2222") == [
        r["image_id"] for r in FIXTURE[:3]]
    assert math.isinf(g.distance("aaaa0000aaaa0000aaaa0000aaaa0000", "dddd3333dddd3333dddd3333dddd3333"))


def test_connectivity_round_trip_matches_fixture(tmp_path):
    f = tmp_path / "scanA_connectivity.json"
    f.write_text(json.dumps(FIXTURE))
    g = load_connectivity(f)
    out = connectivity_path(tmp_path / "root", "scanA")
    save_connectivity(g, out)
    written = json.loads(out.read_text())
    assert [sorted(r) for r in written] == [sorted(r) for r in FIXTURE]
    for w, r in zip(written, FIXTURE):
        for key in ("image_id", "included", "visible", "unobstructed", "height"):
            assert w[key] == r[key], key
        assert np.allclose([w["pose"][i] for i in (3, 7, 11, 15)], [r["pose"][i] for i in (3, 7, 11, 15)])
        assert len(w["pose"]) == 16
    g2 = load_connectivity(out)
    assert g2.ids == g.ids and np.allclose(g2.positions, g.positions) and np.array_equal(g2.edges, g.edges)
    assert graph_to_records(g2) == written


@pytest.mark.parametrize("breakage, message", [
    (lambda r: r[0].pop("pose"), "missing field 'pose'"),
    (lambda r: r[1].update(unobstructed=[True]), "'unobstructed' must be 4 booleans"),
    (lambda r: r[2].update(pose=[0.0] * 15), "16 finite numbers"),
])
def test_connectivity_errors_name_the_field(tmp_path, breakage, message):
    recs = json.loads(json.dumps(FIXTURE))
    breakage(recs)
    f = tmp_path / "bad_connectivity.json"
    f.write_text(json.dumps(recs))
    with pytest.raises(EpisodeFormatError, match=message):
        load_connectivity(f)


def test_r2r_fixture_round_trip(tmp_path):
    src = tmp_path / "R2R_train.json"
    src.write_text(json.dumps(R2R_FIXTURE))
    recs = load_r2r(src)
    save_r2r(recs, tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text()) == R2R_FIXTURE


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rc = cli_main(["generate", "--setting", "discrete", "--name", "disc", "--houses", "3", "--episodes-per-house", "12",
                   "--data-root", str(root), "--quiet"])
    assert rc == 0
    return root


def test_generated_files_follow_the_schemas(dataset):
    root = dataset
    splits = {p.name for p in (root / "datasets" / "disc").glob("R2R_*.json")}
    assert splits == {"R2R_train.json", "R2R_val_seen.json", "R2R_val_unseen.json", "R2R_test.json"}
    scans_by_split = {}
    for split in ("train", "val_seen", "val_unseen", "test"):
        raw = json.loads((root / "datasets" / "disc" / f"R2R_{split}.json").read_text())
        for r in raw:
            assert set(r) == {"distance", "scan", "path_id", "path", "heading", "instructions"}
            assert len(r["instructions"]) == 3 and all(isinstance(s, str) and s for s in r["instructions"])
            assert 0 <= r["heading"] < 2 * math.pi
            g = load_connectivity(connectivity_path(root, r["scan"]))
            path = r["path"]
            assert all(b in g.neighbors(a) for a, b in zip(path[:-1], path[1:]))
            # the path is a graph shortest path and distance is its length
            assert r["distance"] == pytest.approx(g.distance(path[0], path[-1]), abs=1e-5)
            assert g.path_length(path) == pytest.approx(r["distance"], abs=1e-5)
        scans_by_split[split] = {r["scan"] for r in raw}
        ids = [r["path_id"] for r in raw]
        assert len(set(ids)) == len(ids)
    assert not scans_by_split["train"] & scans_by_split["val_unseen"]
    assert not scans_by_split["train"] & scans_by_split["test"]
    assert scans_by_split["val_seen"] <= scans_by_split["train"]
    assert (root / "scene_datasets" / "procgen" / "house_00000" / "house_00000.glb").is_file()
    raw = json.loads(connectivity_path(root, "house_00000").read_text())
    for v in raw:
        assert set(v) == {"image_id", "pose", "included", "visible", "unobstructed", "height"}
        assert len(v["pose"]) == 16 and len(v["image_id"]) == 32
