"""``vlnsim dataset-stats`` on hand-written VLN-CE splits (no generation needed)."""
import copy
import json

import pytest

from vlnsim import episodes as E
from vlnsim.cli import main as cli_main
from vlnsim.episodes.stats import dataset_stats, histogram


def test_histogram_bins():
    h = histogram([0.5, 2.0, 2.5, 25.0], [0, 2, 4])
    assert [(b["lo"], b["hi"], b["count"]) for b in h] == [(0, 2, 1), (2, 4, 2), (4, None, 1)]


def test_stats_of_hand_written_splits(tmp_path, capsys, hand_written_episodes):
    HAND_WRITTEN = hand_written_episodes
    base = tmp_path / "datasets" / "toy" / "v1"
    leak = copy.deepcopy(HAND_WRITTEN)
    E.save(E.EpisodeDataset.from_dict(HAND_WRITTEN), base / "train" / "train.json.gz")
    E.save(E.EpisodeDataset.from_dict(leak), base / "val_unseen" / "val_unseen.json.gz")  # same scene: a leak
    st = dataset_stats(base)
    assert st["splits"]["train"]["episodes"] == 2 and st["splits"]["train"]["paths"] == 1
    assert st["splits"]["train"]["mean_path_length"] == pytest.approx(6.425)
    words = [len(E.tokenize(e["instruction"]["instruction_text"])) for e in HAND_WRITTEN["episodes"]]
    assert st["splits"]["train"]["mean_instruction_words"] == pytest.approx(sum(words) / 2)
    assert st["splits"]["train"]["landmark_share"] is None  # no generator annotation in foreign data
    assert st["vocab_size"] == 10
    assert st["unseen_leak"] == ["mp3d/7y3sRwLe3Va/7y3sRwLe3Va.glb"]
    out = tmp_path / "s.json"
    assert cli_main(["dataset-stats", "toy", "--data-root", str(tmp_path), "--json", str(out)]) == 0
    assert "NO: mp3d/7y3sRwLe3Va/7y3sRwLe3Va.glb" in capsys.readouterr().out
    assert json.loads(out.read_text())["splits"]["val_unseen"]["episodes"] == 2
    assert cli_main(["dataset-stats", str(tmp_path / "nothing")]) == 2
    assert "dataset directory not found" in capsys.readouterr().err
