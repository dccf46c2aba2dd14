"""Generated datasets: layout, splits, grounding, expert trajectories, distances, errors."""
import gzip
import json
import math
import re

import numpy as np
import pytest

from vlnsim import episodes as E
from vlnsim.cli import main as cli_main
from vlnsim.errors import EpisodeFormatError, GenerationError

from vlnsim.agent import Action  # noqa: E402
from vlnsim.episodes.generate import generate_dataset  # noqa: E402
from vlnsim.episodes.speaker import STRUCTURAL  # noqa: E402
from vlnsim.episodes.validate import check_episode_navigable  # noqa: E402
from vlnsim.scene.catalogue import CATEGORIES, COLORS  # noqa: E402
from vlnsim.scene.io import load_scene  # noqa: E402
from vlnsim.simulator import Simulator  # noqa: E402

NAME = "tiny"
KW = dict(num_houses=3, episodes_per_house=6, seed=5, num_rooms=4)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    stats = generate_dataset(root, NAME, progress=False, **KW)
    return root, stats


@pytest.fixture(scope="module")
def scenes(data):
    """Loaded scene and a sensorless simulator per scene id, built independently of the generator."""
    root, _ = data
    out = {}
    for split in E.available_splits(root, NAME):
        for sid in E.load_split(root, NAME, split).scene_ids:
            if sid not in out:
                scene = load_scene(E.resolve_scene_path(root, sid))
                out[sid] = (scene, Simulator(scene, sensors=[]))
    return out


def test_layout_and_splits(data):
    root, stats = data
    base = root / "datasets" / NAME / "v1"
    assert E.available_splits(root, NAME) == ["train", "val_seen", "val_unseen", "test"]
    for split in E.SPLITS:
        assert (base / split / f"{split}_gt.json.gz").is_file()
    assert (base / "tokenizer.json").is_file()
    splits = {s: E.load_split(root, NAME, s) for s in E.SPLITS}
    scenes = {s: set(d.scene_ids) for s, d in splits.items()}
    assert len(scenes["train"]) == 1 and scenes["val_seen"] == scenes["train"]
    assert not scenes["val_unseen"] & (scenes["train"] | scenes["test"])
    assert not scenes["test"] & scenes["train"]
    assert sum(len(d) for d in splits.values()) == stats["episodes"] == 3 * 6
    for sid in set().union(*scenes.values()):
        assert re.fullmatch(r"procgen/house_(\d{5})/house_\1\.glb", sid)
        path = E.resolve_scene_path(root, sid)
        assert path.with_name(path.stem + ".semantic.json").is_file()
    # episode ids unique per split; three instructions per trajectory, sharing the path
    for d in splits.values():
        assert len({e.episode_id for e in d}) == len(d)
        by_traj = {}
        for e in d:
            by_traj.setdefault(e.trajectory_id, []).append(e)
        for eps in by_traj.values():
            assert len(eps) == 3 and len({e.instruction.instruction_text for e in eps}) == 3
            assert all(e.reference_path == eps[0].reference_path for e in eps)


def test_vocabulary_tokens_and_tokenizer(data):
    root, _ = data
    train = E.load_split(root, NAME, "train")
    vocab = E.Vocabulary(train.word_list)
    train_words = {w for e in train for w in E.tokenize(e.instruction.instruction_text)}
    assert set(vocab.word_list[3:]) == train_words  # built from the train split only
    for split in E.SPLITS:
        d = E.load_split(root, NAME, split)
        assert d.word_list == train.word_list
        for e in d:
            assert e.instruction.instruction_tokens == vocab.encode(e.instruction.instruction_text)
    tok = E.load_tokenizer(root / "datasets" / NAME / "v1")
    enc = tok.encode(train.episodes[0].instruction.instruction_text)
    assert enc.tokens[0] == "[CLS]" and "[UNK]" not in enc.tokens


def test_geodesic_distances_and_paths_match_simulator(data, scenes):
    root, _ = data
    for split in E.SPLITS:
        for e in E.load_split(root, NAME, split).episodes[::3]:
            pf = scenes[e.scene_id][1].pathfinder
            check_episode_navigable(e, pf)
            d = pf.geodesic_distance(e.start_position, e.goals[0].position)
            assert e.geodesic_distance == pytest.approx(d, rel=1e-9, abs=1e-9)
            assert 4.0 <= e.geodesic_distance <= 20.0
            assert e.goals[0].radius == 3.0
            ref = np.asarray(e.reference_path)
            assert np.allclose(ref[0], e.start_position, atol=1e-6) and np.allclose(ref[-1], e.goals[0].position, atol=1e-6)
            assert np.linalg.norm(np.diff(ref, axis=0), axis=1).sum() == pytest.approx(d, rel=1e-9)
            q = e.start_rotation
            assert q[0] == 0.0 and q[2] == 0.0 and math.isclose(q[1] ** 2 + q[3] ** 2, 1.0)


def _point_to_polyline(p, poly):
    a, b = poly[:-1], poly[1:]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-12), 0, 1)
    return float(np.linalg.norm(a + t[:, None] * ab - p, axis=1).min())


def test_gt_trajectories_replay_and_follow_reference(data, scenes):
    root, _ = data
    for split in ("train", "val_unseen"):
        d = E.load_split(root, NAME, split)
        gt = E.load_gt(E.split_path(root, NAME, split, gt=True))
        assert set(gt) == {str(e.episode_id) for e in d}
        for e in d.episodes[::3]:
            rec = gt[str(e.episode_id)]
            locs, acts = np.asarray(rec["locations"]), rec["actions"]
            assert acts[-1] == Action.STOP and Action.STOP not in acts[:-1]
            assert len(locs) == len(acts) and np.allclose(locs[0], e.start_position)
            # independent replay of the recorded actions reproduces the recorded locations
            sim = scenes[e.scene_id][1]
            sim.reset(position=e.start_position, rotation=e.start_rotation)
            for a, loc in zip(acts[:-1], locs[1:]):
                sim.step(a)
                assert np.allclose(sim.agent_state.position, loc, atol=1e-6)
            goal = np.asarray(e.goals[0].position)
            assert sim.pathfinder.geodesic_distance(locs[-1], goal) < 1.0  # stops at the goal, well inside 3 m
            ref = np.asarray(e.reference_path)
            assert max(_point_to_polyline(p, ref) for p in locs) < 0.75  # the expert walks the reference path


def _mentions(text, extra_categories=()):
    cats = sorted(set(CATEGORIES) | set(extra_categories), key=len, reverse=True)
    cols = sorted(COLORS, key=len, reverse=True)
    pat = re.compile(r"\bthe (?:(%s) )?(%s)\b" % ("|".join(map(re.escape, cols)), "|".join(map(re.escape, cats))))
    return [(m.group(2), m.group(1) or "", m.start()) for m in pat.finditer(text.lower())]


def test_instructions_are_grounded_in_the_house(data, scenes):
    root, _ = data
    named = 0
    for split in E.SPLITS:
        for e in E.load_split(root, NAME, split):
            scene = scenes[e.scene_id][0]
            text = e.instruction.instruction_text
            furniture = [o for o in scene.objects if o.category not in STRUCTURAL]
            found = _mentions(text, {o.category for o in furniture})
            named += bool(found)
            for cat, color, _ in found:
                assert any(o.category == cat and o.color.lower() == color for o in furniture) or \
                    (not color and any(o.category == cat for o in furniture)), (cat, color, text)
            low = text.lower()
            stop_at = [m.start() for m in re.finditer(r"\b(stop|wait|your goal)\b", low)][-1]
            stop = [m for m in found if m[2] >= stop_at]
            goal = e.goals[0].position
            if stop:
                cat, color, _ = stop[-1]
                assert any(o.category == cat and o.color.lower() == color
                           and math.dist((o.center[0], o.center[2]), (goal[0], goal[2])) <= 3.0 for o in furniture), text
            else:
                room = scene.room_at(goal[0], goal[2])
                assert room is not None and room.type.replace("_", " ") in low[stop_at:], text
    assert named > 0


def test_r2r_export_round_trip_of_generated_split(data, tmp_path):
    root, _ = data
    d = E.load_split(root, NAME, "val_unseen")
    E.save_r2r(E.episodes_to_r2r(d), tmp_path / "R2R_val_unseen.json")
    recs = E.load_r2r(tmp_path / "R2R_val_unseen.json")
    assert all(len(r.instructions) == 3 for r in recs)
    back = E.r2r_to_episodes(recs, vocab=E.Vocabulary(d.word_list))
    for a, b in zip(d.episodes, back.episodes):
        da, db = a.to_dict(), b.to_dict()
        assert np.allclose(da.pop("start_rotation"), db.pop("start_rotation"), atol=1e-12)
        da["info"] = {"geodesic_distance": da["info"]["geodesic_distance"]}  # generator annotations are not R2R fields
        assert da == db


def test_dataset_stats_command(data, tmp_path, capsys):
    root, stats = data
    out = tmp_path / "stats.json"
    assert cli_main(["dataset-stats", str(root / "datasets" / NAME / "v1"), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "unseen splits share no scene with other splits: yes" in text
    st = json.loads(out.read_text())
    for split in E.SPLITS:
        assert st["splits"][split]["episodes"] == len(E.load_split(root, NAME, split))
    assert st["unseen_leak"] == [] and st["scene_overlap"]["train/val_unseen"] == []
    assert st["scene_overlap"]["train/val_seen"] != []
    assert st["vocab_size"] == stats["vocab_size"]
    assert sum(h["count"] for h in st["path_length_histogram"]) == stats["episodes"]
    assert 0.0 < st["splits"]["train"]["landmark_share"] <= 1.0


def test_generation_is_deterministic_and_independent_of_workers(data, tmp_path):
    root, _ = data
    # the CLI with 2 worker processes reproduces the API run byte for byte
    rc = cli_main(["generate", "--name", NAME, "--houses", "3", "--episodes-per-house", "6", "--seed", "5",
                   "--rooms", "4", "--workers", "2", "--data-root", str(tmp_path), "--quiet"])
    assert rc == 0
    for split in E.SPLITS:
        for gt in (False, True):
            a = E.split_path(root, NAME, split, gt=gt).read_bytes()
            b = E.split_path(tmp_path, NAME, split, gt=gt).read_bytes()
            assert gzip.decompress(a) == gzip.decompress(b), (split, gt)
    # the WordPiece tokenizer too (the tokenizers trainer breaks ties in hash order; ours does not)
    tok = E.dataset_dir(root, NAME) / "tokenizer.json"
    assert tok.read_bytes() == (E.dataset_dir(tmp_path, NAME) / "tokenizer.json").read_bytes()


def test_impossible_requests_fail_fast(tmp_path):
    # a 3-room house has no 60 m path: sampling gives up after a bounded number of tries
    with pytest.raises(GenerationError, match=r"\[60.0, 80.0\] m after 5 start points"):
        generate_dataset(tmp_path, "bad", num_houses=1, episodes_per_house=1, seed=1, num_rooms=3,
                         min_distance=60.0, max_distance=80.0, progress=False, max_start_attempts=5)
    with pytest.raises(GenerationError, match="distance range"):
        generate_dataset(tmp_path, "bad", num_houses=1, episodes_per_house=1, min_distance=10, max_distance=5)


def test_goal_off_navigable_area_is_reported(data, scenes):
    root, _ = data
    e = E.load_split(root, NAME, "test").episodes[0]
    pf = scenes[e.scene_id][1].pathfinder
    lo, hi = scenes[e.scene_id][0].bounds
    e.goals[0].position = [float(hi[0]) + 0.5, 0.0, float(hi[2]) + 0.5]  # outside the walls
    with pytest.raises(EpisodeFormatError, match=r"goals\[0\]\.position"):
        check_episode_navigable(e, pf)
    e.goals[0].position = [e.start_position[0], 1.2, e.start_position[2]]  # floating above the floor
    with pytest.raises(EpisodeFormatError, match="not on the navigable area"):
        check_episode_navigable(e, pf)


def test_gt_expert_agrees_with_online_follower(data, scenes):
    from vlnsim.episodes.expert import ReferencePathFinder, run_expert
    from vlnsim.nav.follower import ShortestPathFollower

    root, _ = data
    d = E.load_split(root, NAME, "test")
    gt = E.load_gt(E.split_path(root, NAME, "test", gt=True))
    for e in d.episodes[::3]:
        sim = scenes[e.scene_id][1]
        goal = e.goals[0].position
        # nav's follower re-planning every step, rolled out independently
        f = ShortestPathFollower(sim, goal_radius=0.5)
        sim.reset(position=e.start_position, rotation=e.start_rotation)
        actions = []
        for _ in range(500):
            a = f.next_action(goal)
            actions.append(int(a))
            if a == Action.STOP:
                break
            sim.step(a)
        assert actions[-1] == Action.STOP
        recorded = gt[str(e.episode_id)]["actions"]
        # the recorded expert is never clumsier than the on-line one (which re-plans from
        # slightly different grid cells and may wiggle at door frames) ...
        assert len(recorded) <= len(actions) + max(3, 0.1 * len(actions))
        # ... and walks about as far: forward steps x 0.25 m ~ the geodesic distance
        fwd = sum(a == Action.MOVE_FORWARD for a in recorded)
        assert 0.25 * fwd == pytest.approx(e.geodesic_distance, abs=1.0)
        assert 0.25 * fwd <= 0.25 * sum(a == Action.MOVE_FORWARD for a in actions) + 0.5
        # exact mode is the follower itself
        locs, acts, reached = run_expert(sim, e.reference_path, e.start_position, e.start_rotation, goal, 0.5, exact=True)
        assert reached and acts == actions
    # off the reference path, the reference view defers to the real planner
    e = d.episodes[0]
    pf = scenes[e.scene_id][1].pathfinder
    view = ReferencePathFinder(pf, e.reference_path, e.goals[0].position)
    far = pf.random_navigable_point(np.random.default_rng(0))
    while _point_to_polyline(far, np.asarray(e.reference_path)) < 0.5:
        far = pf.random_navigable_point(np.random.default_rng(int(far[0] * 1000) % 1000))
    assert view.find_path(far, e.goals[0].position) == pf.find_path(far, e.goals[0].position)
    on = np.asarray(e.reference_path[0])
    assert view.find_path(on, e.goals[0].position)[-1] == list(map(float, e.goals[0].position))


def test_instruction_styles_share_episodes_and_differ_in_length(data, tmp_path):
    """Rungs 1-2 of the ladder: the verbose and R2R-like datasets hold the same episodes."""
    root, _ = data
    generate_dataset(tmp_path, "verbose", progress=False, instruction_style="verbose", **KW)
    words = {"r2r": [], "verbose": []}
    for split in E.SPLITS:
        a, b = E.load_split(root, NAME, split), E.load_split(tmp_path, "verbose", split)
        assert len(a) == len(b)
        for ea, eb in zip(a, b):
            assert ea.episode_id == eb.episode_id and ea.scene_id == eb.scene_id
            assert ea.start_position == eb.start_position and ea.reference_path == eb.reference_path
            assert ea.start_rotation == eb.start_rotation
            words["r2r"].append(len(ea.instruction.instruction_text.split()))
            words["verbose"].append(len(eb.instruction.instruction_text.split()))
    # the verbose style says every clause; the R2R-like one drops optional ones, never adds
    assert all(r <= v + 2 for r, v in zip(words["r2r"], words["verbose"]))
    assert np.mean(words["r2r"]) < np.mean(words["verbose"]) - 5


def test_r2r_style_mean_length_on_a_larger_sample(tmp_path):
    """R2R's instructions average about 29 words; the default style aims at 25-35."""
    generate_dataset(tmp_path, "len", num_houses=6, episodes_per_house=15, seed=21, progress=False)
    texts = [e.instruction.instruction_text for s in E.SPLITS for e in E.load_split(tmp_path, "len", s)]
    mean = float(np.mean([len(t.split()) for t in texts]))
    assert 25.0 <= mean <= 35.0, mean
    # still grounded: every instruction ends at a named object or room; most name a room they enter
    assert all(re.search(r"\b(stop|wait|your goal)\b", t.lower()) for t in texts)
    assert np.mean([bool(re.search(r"\b(into|enter) the\b", t.lower())) for t in texts]) > 0.6


def test_extra_train_houses_keep_the_evaluation_episodes(data, tmp_path):
    """Growing the train split (ladder rung 3) leaves val_seen/val_unseen/test untouched."""
    root, _ = data
    stats = generate_dataset(tmp_path, NAME, progress=False, extra_train_houses=2, **KW)
    small = len({e.scene_id for e in E.load_split(root, NAME, "train")})
    assert len({e.scene_id for e in E.load_split(tmp_path, NAME, "train")}) == small + 2
    assert stats["houses"] == KW["num_houses"] + 2
    for split in ("val_seen", "val_unseen", "test"):
        a, b = E.load_split(root, NAME, split), E.load_split(tmp_path, NAME, split)
        assert [(e.episode_id, e.scene_id, e.start_position, e.reference_path, e.instruction.instruction_text)
                for e in a] == [(e.episode_id, e.scene_id, e.start_position, e.reference_path,
                                 e.instruction.instruction_text) for e in b]
    with pytest.raises(Exception, match="extra_train_houses"):
        generate_dataset(tmp_path, "bad", progress=False, extra_train_houses=-1, **KW)
    with pytest.raises(Exception, match="instruction_style"):
        generate_dataset(tmp_path, "bad", progress=False, instruction_style="haiku", **KW)
