"""Task data from real-format files (Karpathy, CLEVR, VQA v2) and fine-tuning on them."""
import json

import numpy as np
import pytest
from PIL import Image

from agents.heads.data import data_kind, load_image_text, load_vqa_set
from vlnsim.cli import main as vlnsim_main
from vlnsim.errors import DatasetFormatError
from heads_fixtures import tiny_encoder
from heads_fixtures import CLEVR_VAL, DATASET_COCO


def _image(path, seed, size=16):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "dataset_coco.json").write_text(json.dumps(DATASET_COCO))
    for k, rec in enumerate(DATASET_COCO["images"]):
        _image(tmp_path / "coco" / rec["filepath"] / rec["filename"], k)
    clevr = tmp_path / "CLEVR_v1.0"
    (clevr / "questions").mkdir(parents=True)
    (clevr / "questions" / "CLEVR_val_questions.json").write_text(json.dumps(CLEVR_VAL))
    for k in range(2):
        _image(clevr / "images" / "val" / f"CLEVR_val_{k:06d}.png", k)
    vqa_q = {"info": {}, "task_type": "Open-Ended", "data_type": "mscoco", "data_subtype": "val2014", "license": {},
             "questions": [{"image_id": 391895, "question": "What is the man riding?", "question_id": 3918950},
                           {"image_id": 522418, "question": "How many people?", "question_id": 5224180}]}
    vqa_a = {"info": {}, "license": {}, "data_type": "mscoco", "data_subtype": "val2014", "annotations": [
        {"question_id": 3918950, "image_id": 391895, "question_type": "what is the", "answer_type": "other",
         "multiple_choice_answer": "motorcycle",
         "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1}
                     for i, a in enumerate(["motorcycle"] * 7 + ["bike"] * 3)]},
        {"question_id": 5224180, "image_id": 522418, "question_type": "how many", "answer_type": "number",
         "multiple_choice_answer": "1",
         "answers": [{"answer": "1", "answer_confidence": "yes", "answer_id": i + 1} for i in range(10)]}]}
    (tmp_path / "v2_OpenEnded_mscoco_val2014_questions.json").write_text(json.dumps(vqa_q))
    (tmp_path / "v2_mscoco_val2014_annotations.json").write_text(json.dumps(vqa_a))
    for iid in (391895, 522418):
        _image(tmp_path / "val2014" / f"COCO_val2014_{iid:012d}.jpg", iid % 7)
    return tmp_path


def test_kinds_and_sets(files):
    assert data_kind(files / "dataset_coco.json") == "karpathy"
    clevr = files / "CLEVR_v1.0" / "questions" / "CLEVR_val_questions.json"
    assert data_kind(clevr) == "clevr"
    vqa = files / "v2_OpenEnded_mscoco_val2014_questions.json"
    assert data_kind(vqa) == "vqa"
    s = load_image_text(files / "dataset_coco.json", "train", image_root=files / "coco")  # restval -> train
    assert s.image_ids == [318556] and s.paths[0].is_file() and len(s.captions[0]) == 1
    v = load_vqa_set(clevr, "val")
    assert [q["family"] for q in v.questions] == ["count", "query_material", "exist"]
    assert [q["image_index"] for q in v.questions] == [0, 0, 1] and all(p.is_file() for p in v.paths)
    v2 = load_vqa_set(vqa, "val2014", image_root=files / "val2014")
    assert all(p.is_file() for p in v2.paths) and v2.questions[0]["answers"].count("bike") == 3
    assert v2.annotations()[1]["question_family"] == "number"
    with pytest.raises(DatasetFormatError, match="has no questions"):
        load_vqa_set(files / "dataset_coco.json", "test")
    with pytest.raises(DatasetFormatError, match="has no captions"):
        load_image_text(clevr, "val")
    with pytest.raises(DatasetFormatError, match="no such file"):
        data_kind(files / "missing.json")


def test_finetune_on_real_format_files(files, capsys):
    texts = [c["raw"] for im in DATASET_COCO["images"] for c in im["sentences"]] + [q["question"] for q in CLEVR_VAL["questions"]]
    enc = tiny_encoder(texts, files / "tok")
    enc.save_pretrained(files / "encoder")
    clevr = files / "CLEVR_v1.0" / "questions" / "CLEVR_val_questions.json"
    common = ["--encoder", str(files / "encoder"), "--steps", "3", "--no-progress", "batch_size=2", "device=cpu"]
    assert vlnsim_main(["finetune", "--task", "vqa", "--data", str(clevr), "--out", str(files / "clevr_run"), *common,
                        "train_split=val", "eval_split=val"]) == 0
    m = json.loads((files / "clevr_run" / "eval" / "metrics.json").read_text())
    assert set(m["per_family"]) == {"count", "query_material", "exist"}
    assert vlnsim_main(["finetune", "--task", "retrieval", "--data", str(files / "dataset_coco.json"), "--image-root",
                        str(files / "coco"), "--out", str(files / "karpathy_run"), *common, "eval_split=test",
                        "retrieval.k_test=2"]) == 0
    m = json.loads((files / "karpathy_run" / "eval" / "metrics.json").read_text())
    assert m["num_images"] == 1 and m["num_texts"] == 2 and m["itc"]["i2t_r1"] == 1.0
