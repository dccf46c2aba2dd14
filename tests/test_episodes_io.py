"""VLN-CE and R2R episode files: round trips, validation errors, scene paths, vocabulary."""
import copy
import gzip
import json
import math

import pytest

from vlnsim import episodes as E
from vlnsim.errors import EpisodeFormatError, SceneNotFoundError
from vlnsim.geometry import quat_from_yaw

# shaped like R2R_VLNCE_v1-3 records, plus extras seen in the wild (RxR-style fields, info extras)
HAND_WRITTEN = {
    "episodes": [
        {
            "episode_id": 1,
            "trajectory_id": 4,
            "scene_id": "mp3d/7y3sRwLe3Va/7y3sRwLe3Va.glb",
            "start_position": [-16.267, 0.152, 0.711],
            "start_rotation": [0, 0.9753, 0, 0.2207],
            "info": {"geodesic_distance": 6.425, "difficulty": "easy"},
            "goals": [{"position": [-12.337, 0.152, 4.181], "radius": 3.0}],
            "reference_path": [[-16.267, 0.152, 0.711], [-13.5, 0.152, 3.2], [-12.337, 0.152, 4.181]],
            "instruction": {"instruction_text": "Walk past the sofa and stop at the door.",
                            "instruction_tokens": [5, 7, 3, 9, 2, 0], "language": "en-US"},
            "annotator_id": 17,
        },
        {
            "episode_id": 2,
            "trajectory_id": 4,
            "scene_id": "mp3d/7y3sRwLe3Va/7y3sRwLe3Va.glb",
            "start_position": [-16.267, 0.152, 0.711],
            "start_rotation": [0.0, 0.0, 0.0, 1.0],
            "info": {"geodesic_distance": 6.425},
            "goals": [{"position": [-12.337, 0.152, 4.181], "radius": 3.0, "object_id": "door_3"}],
            "reference_path": [[-16.267, 0.152, 0.711], [-12.337, 0.152, 4.181]],
            "instruction": {"instruction_text": "Go to the door.", "instruction_tokens": [4, 3, 9]},
        },
    ],
    "instruction_vocab": {"word_list": ["<PAD>", "<UNK>", "<EOS>", "the", "go", "walk", "and", "past", "stop", "door"],
                          "num_vocab": 10},
    "dataset_note": "hand-written",
}


def write_gz(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps(obj).encode()))


def test_vlnce_round_trip_keeps_extra_fields(tmp_path):
    src = tmp_path / "val_unseen.json.gz"
    write_gz(src, HAND_WRITTEN)
    ds = E.load(src)
    assert len(ds) == 2 and ds.episodes[0].instruction.instruction_tokens == [5, 7, 3, 9, 2, 0]
    assert ds.episodes[0].geodesic_distance == 6.425 and ds.episodes[1].goals[0].radius == 3.0
    out = tmp_path / "copy.json.gz"
    E.save(ds, out)
    assert json.loads(gzip.decompress(out.read_bytes())) == HAND_WRITTEN
    again = tmp_path / "again.json.gz"
    E.save(E.load(out), again)
    assert again.read_bytes() == out.read_bytes()  # deterministic bytes (gzip mtime 0)


def test_plain_json_is_read_too(tmp_path):
    src = tmp_path / "train.json"
    src.write_text(json.dumps(HAND_WRITTEN))
    assert E.load(src).episodes[1].episode_id == 2


def _broken(mutate):
    d = copy.deepcopy(HAND_WRITTEN)
    mutate(d)
    return d


@pytest.mark.parametrize("mutate, needles", [
    (lambda d: d["episodes"][1].pop("goals"), ["episodes[1]", "episode_id=2", "'goals'"]),
    (lambda d: d["episodes"][0].pop("scene_id"), ["episodes[0]", "'scene_id'"]),
    (lambda d: d["episodes"][0].__setitem__("start_position", "0,0,0"), ["episodes[0]", "'start_position'"]),
    (lambda d: d["episodes"][0].__setitem__("start_position", [0, 0]), ["'start_position'", "3 numbers"]),
    (lambda d: d["episodes"][1].__setitem__("start_rotation", [0, 0, 0, 2.0]), ["episodes[1]", "'start_rotation'", "unit quaternion"]),
    (lambda d: d["episodes"][1]["goals"][0].__setitem__("position", [1, "a", 2]), ["'goals[0].position'"]),
    (lambda d: d["episodes"][0]["instruction"].__setitem__("instruction_text", 5), ["'instruction.instruction_text'"]),
    (lambda d: d["episodes"][0]["instruction"].__setitem__("instruction_tokens", [1, -2]), ["'instruction.instruction_tokens'"]),
    (lambda d: d["episodes"][0]["info"].__setitem__("geodesic_distance", "far"), ["'info.geodesic_distance'"]),
    (lambda d: d["episodes"][1].__setitem__("episode_id", 1), ["repeats episode_id"]),
    (lambda d: d.__setitem__("episodes", {}), ["'episodes' must be a list"]),
    (lambda d: d.pop("episodes"), ["missing field 'episodes'"]),
])
def test_bad_episode_files_name_file_episode_and_field(tmp_path, mutate, needles):
    path = tmp_path / "bad.json.gz"
    write_gz(path, _broken(mutate))
    with pytest.raises(EpisodeFormatError) as exc:
        E.load(path)
    msg = str(exc.value)
    assert str(path) in msg
    for n in needles:
        assert n in msg


def test_malformed_json_and_truncated_gzip(tmp_path):
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(b'{"episodes": [ {"episode_id": 1,'))
    with pytest.raises(EpisodeFormatError, match="malformed JSON at line 1"):
        E.load(bad)
    trunc = tmp_path / "trunc.json.gz"
    trunc.write_bytes(gzip.compress(json.dumps(HAND_WRITTEN).encode())[:40])
    with pytest.raises(EpisodeFormatError, match="trunc.json.gz"):
        E.load(trunc)
    with pytest.raises(FileNotFoundError):
        E.load(tmp_path / "missing.json.gz")


def test_gt_file_round_trip_and_validation(tmp_path):
    gt = {"1": {"locations": [[0.0, 0.0, 0.0], [0.0, 0.0, -0.25]], "actions": [1, 0], "forward_steps": 1}}
    path = tmp_path / "val_gt.json.gz"
    E.save_gt({1: gt["1"]}, path)
    assert E.load_gt(path) == gt
    write_gz(path, {"1": {"locations": [[0, 0]], "actions": [1]}})
    with pytest.raises(EpisodeFormatError, match="'locations'"):
        E.load_gt(path)
    write_gz(path, {"1": {"locations": [], "actions": [7]}})
    with pytest.raises(EpisodeFormatError, match="'actions'"):
        E.load_gt(path)


def test_split_layout(tmp_path):
    for split in ("val_unseen", "train"):
        E.save(E.EpisodeDataset.from_dict(HAND_WRITTEN), E.split_path(tmp_path, "toy", split))
    assert E.available_splits(tmp_path, "toy") == ["train", "val_unseen"]
    assert (tmp_path / "datasets/toy/v1/train/train.json.gz").is_file()
    assert len(E.load_split(tmp_path, "toy", "train")) == 2
    with pytest.raises(FileNotFoundError, match="available splits: \\['train', 'val_unseen'\\]"):
        E.load_split(tmp_path, "toy", "test")
    assert E.available_splits(tmp_path, "nope") == []


def test_resolve_scene_path(tmp_path):
    scene = tmp_path / "scene_datasets/procgen/house_00001/house_00001.glb"
    scene.parent.mkdir(parents=True)
    scene.write_bytes(b"glTF")
    assert E.resolve_scene_path(tmp_path, "procgen/house_00001/house_00001.glb") == scene
    for bad in ("../secret.glb", "procgen/../../x.glb", "/etc/passwd", "C:\\x.glb", "..\\x.glb"):
        with pytest.raises(EpisodeFormatError, match="scene_id"):
            E.resolve_scene_path(tmp_path, bad)
    with pytest.raises(SceneNotFoundError, match="house_00002.glb"):
        E.resolve_scene_path(tmp_path, "procgen/house_00002/house_00002.glb")
    assert E.resolve_scene_path(tmp_path, "procgen/x.glb", must_exist=False).name == "x.glb"


R2R_RECORDS = [
    {"distance": 9.86, "scan": "8WUmhLawc2A", "path_id": 4332,
     "path": ["ae91518ed77047b3bdeeca864cd04029", "d5e6b6ba6f4f4ae7b4f3b27c9c1e1a0d", "35f5a8d46f7a4dc8b50c8c1dc4b43a4b"],
     "heading": 4.055, "instructions": ["Walk to the other end of the lobby.", "Go past the desk.", "Exit the lobby."],
     "instr_encodings": [[1, 2], [3], [4]]},
]


def test_r2r_file_round_trip_exact(tmp_path):
    src = tmp_path / "R2R_val_seen.json"
    src.write_text(json.dumps(R2R_RECORDS))
    recs = E.load_r2r(src)
    assert recs[0].path_id == 4332 and len(recs[0].instructions) == 3 and "instr_encodings" in recs[0].extra
    out = tmp_path / "out.json"
    E.save_r2r(recs, out)
    assert json.loads(out.read_text()) == R2R_RECORDS
    with pytest.raises(EpisodeFormatError, match="viewpoint_positions"):
        E.r2r_to_episodes(recs)
    vp = {v: [float(i), 0.0, 0.0] for i, v in enumerate(R2R_RECORDS[0]["path"])}
    ds = E.r2r_to_episodes(recs, scene_id_format="mp3d/{scan}/{scan}.glb", viewpoint_positions={"8WUmhLawc2A": vp})
    assert [e.episode_id for e in ds.episodes] == [0, 1, 2]
    assert {e.trajectory_id for e in ds.episodes} == {4332}
    assert ds.episodes[0].scene_id == "mp3d/8WUmhLawc2A/8WUmhLawc2A.glb"
    assert ds.episodes[2].goals[0].position == [2.0, 0.0, 0.0]


def test_r2r_bad_records(tmp_path):
    bad = copy.deepcopy(R2R_RECORDS)
    bad[0].pop("heading")
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(bad))
    with pytest.raises(EpisodeFormatError, match="record\\[0\\].*path_id=4332.*'heading'"):
        E.load_r2r(src)
    src.write_text(json.dumps({"not": "a list"}))
    with pytest.raises(EpisodeFormatError, match="JSON list"):
        E.load_r2r(src)


def test_episodes_to_r2r_and_back_is_lossless():
    vocab = E.Vocabulary.build(["walk past the bed", "turn left", "stop by the sofa"])
    eps = []
    for k, text in enumerate(["walk past the bed", "turn left", "stop by the sofa"]):
        eps.append(E.Episode(
            episode_id=k, trajectory_id=0, scene_id="procgen/house_00003/house_00003.glb",
            start_position=[1.0, 0.0, 2.0], start_rotation=[float(v) for v in quat_from_yaw(2.5)],
            goals=[E.Goal([5.0, 0.0, -1.0], 3.0)], reference_path=[[1.0, 0.0, 2.0], [3.0, 0.0, 0.5], [5.0, 0.0, -1.0]],
            instruction=E.Instruction(text, vocab.encode(text)), info={"geodesic_distance": 5.0}))
    recs = E.episodes_to_r2r(eps)
    assert len(recs) == 1 and recs[0].scan == "house_00003" and recs[0].distance == 5.0
    assert recs[0].heading == pytest.approx(-2.5)  # R2R headings turn clockwise
    back = E.r2r_to_episodes(recs, vocab=vocab)
    for a, b in zip(eps, back.episodes):
        da, db = a.to_dict(), b.to_dict()
        qa, qb = da.pop("start_rotation"), db.pop("start_rotation")
        assert qa == pytest.approx(qb, abs=1e-12)
        assert da == db


def test_tokenize_and_vocabulary():
    assert E.tokenize("Walk past the kitchen's BLUE sofa, then stop. Where?") == \
        ["walk", "past", "the", "kitchen", "'", "s", "blue", "sofa", "then", "stop", ".", "where"]
    v = E.Vocabulary.build(["walk to the sofa .", "walk past the bed"])
    assert v.word_list[:3] == ["<PAD>", "<UNK>", "<EOS>"]
    assert v.word_list[3:5] == ["the", "walk"]  # by frequency, then alphabetical
    ids = v.encode("Walk to the piano", max_length=6)
    assert ids == [v.word_to_id("walk"), v.word_to_id("to"), v.word_to_id("the"), 1, 0, 0]
    assert v.decode(ids) == "walk to the <UNK>"
    with pytest.raises(EpisodeFormatError):
        E.Vocabulary(["the", "<PAD>"])


def test_wordpiece_tokenizer_round_trip(tmp_path):
    from vlnsim.episodes.vocab import save_tokenizer

    texts = ["walk past the blue sofa and stop by the bed", "turn left into the kitchen"] * 20
    tok = E.train_tokenizer(texts, vocab_size=120)
    save_tokenizer(tok, tmp_path)
    loaded = E.load_tokenizer(tmp_path)
    enc = loaded.encode("Walk past the sofa")
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]" and "sofa" in enc.tokens
    assert loaded.get_vocab_size() == tok.get_vocab_size() <= 120
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "tokenizer.json").write_text("{")
    with pytest.raises(EpisodeFormatError):
        E.load_tokenizer(tmp_path / "bad")
