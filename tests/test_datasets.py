"""Loaders of the public formats (COCO captions, COCO instances, VQA v2) on hand-written
fixtures in exactly those schemas, on the simulator corpus, and their error messages."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.datasets.coco_captions import corpus_paths, load_coco_captions
from agents.datasets.coco_instances import load_coco_instances
from agents.datasets.vqa import load_vqa
from vlnsim.corpus import CorpusConfig, build_corpus
from vlnsim.errors import DatasetFormatError

# Shapes of the official files (COCO 2014 captions / instances, VQA v2 OpenEnded), values made up.
COCO_CAPTIONS = {
    "info": {"description": "COCO 2014 Dataset", "version": "1.0", "year": 2014},
    "licenses": [{"url": "http://creativecommons.org/licenses/by-nc-sa/2.0/", "id": 1, "name": "Attribution-NonCommercial-ShareAlike License"}],
    "images": [
        {"license": 3, "file_name": "COCO_val2014_000000391895.jpg", "coco_url": "http://images.cocodataset.org/val2014/COCO_val2014_000000391895.jpg",
         "height": 360, "width": 640, "date_captured": "2013-11-14 11:18:45", "id": 391895},
        {"license": 4, "file_name": "COCO_val2014_000000522418.jpg", "height": 480, "width": 640, "id": 522418},
    ],
    "annotations": [
        {"image_id": 391895, "id": 770337, "caption": "A man with a red helmet on a small moped on a dirt road. "},
        {"image_id": 391895, "id": 771687, "caption": "Man riding a motor bike on a dirt road on the countryside."},
        {"image_id": 522418, "id": 775325, "caption": "A woman wearing a net on her head cutting a cake. "},
    ],
}
COCO_INSTANCES = {
    "images": [{"id": 391895, "file_name": "COCO_val2014_000000391895.jpg", "width": 640, "height": 360}],
    "annotations": [{"segmentation": [[376.97, 176.91, 398.81, 176.91, 396.38, 147.78]], "area": 12190.44,
                     "iscrowd": 0, "image_id": 391895, "bbox": [359.17, 146.17, 112.45, 213.57], "category_id": 4, "id": 151091}],
    "categories": [{"supercategory": "vehicle", "id": 4, "name": "motorcycle"}],
}
VQA_QUESTIONS = {"info": {}, "task_type": "Open-Ended", "data_type": "mscoco", "data_subtype": "val2014", "license": {},
                 "questions": [{"image_id": 262148, "question": "Where is he looking?", "question_id": 262148000}]}
VQA_ANNOTATIONS = {"info": {}, "license": {}, "data_type": "mscoco", "data_subtype": "val2014", "annotations": [
    {"question_type": "none of the above", "multiple_choice_answer": "down", "answers": [
        {"answer": a, "answer_confidence": "yes", "answer_id": i + 1}
        for i, a in enumerate(["down", "down", "at table", "skateboard", "down", "table", "down", "down", "down", "down"])],
     "image_id": 262148, "answer_type": "other", "question_id": 262148000}]}


def _write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


def test_coco_captions_fixture(tmp_path):
    c = load_coco_captions(_write(tmp_path / "captions_val2014.json", COCO_CAPTIONS), image_root=tmp_path / "val2014")
    assert [im.image_id for im in c.images] == [391895, 522418]
    assert c.images[0].path == tmp_path / "val2014" / "COCO_val2014_000000391895.jpg"
    assert c.captions[391895][0] == "A man with a red helmet on a small moped on a dirt road."
    assert c.caption_ids[391895] == [770337, 771687]
    assert len(c.pairs()) == 3 and c.images[0].extra["license"] == 3


def test_coco_instances_fixture(tmp_path):
    i = load_coco_instances(_write(tmp_path / "instances_val2014.json", COCO_INSTANCES))
    box = i.boxes[391895][0]
    assert box.bbox == (359.17, 146.17, 112.45, 213.57) and i.categories[box.category_id] == "motorcycle"


def test_vqa_fixture(tmp_path):
    q = load_vqa(_write(tmp_path / "q.json", VQA_QUESTIONS), _write(tmp_path / "a.json", VQA_ANNOTATIONS))
    assert len(q) == 1 and q[0].question == "Where is he looking?" and len(q[0].answers) == 10
    assert q[0].multiple_choice_answer == "down" and q[0].answer_type == "other"
    # test-dev style: questions only
    assert load_vqa(tmp_path / "q.json")[0].answers == ()


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d["annotations"][1].pop("caption"), "annotations[1] has no field 'caption'"),
    (lambda d: d["images"][0].__setitem__("id", "391895"), "images[0].id is str"),
    (lambda d: d["annotations"][0].__setitem__("image_id", 5), "annotations[0].image_id 5 is not in images"),
    (lambda d: d.pop("images"), "top level has no field 'images'"),
])
def test_coco_captions_errors_name_file_and_field(tmp_path, mutate, needle):
    data = json.loads(json.dumps(COCO_CAPTIONS))
    mutate(data)
    path = _write(tmp_path / "captions_bad.json", data)
    with pytest.raises(DatasetFormatError) as e:
        load_coco_captions(path)
    assert needle in str(e.value) and str(path) in str(e.value)


def test_instances_and_vqa_errors(tmp_path):
    bad = json.loads(json.dumps(COCO_INSTANCES))
    bad["annotations"][0]["bbox"] = [1, 2, 3]
    with pytest.raises(DatasetFormatError, match=r"annotations\[0\]\.bbox"):
        load_coco_instances(_write(tmp_path / "i.json", bad))
    a = json.loads(json.dumps(VQA_ANNOTATIONS))
    a["annotations"][0]["answers"] = []
    with pytest.raises(DatasetFormatError, match=r"a\.json: annotations\[0\]\.answers is empty"):
        load_vqa(_write(tmp_path / "q.json", VQA_QUESTIONS), _write(tmp_path / "a.json", a))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(DatasetFormatError, match="broken.json: not valid JSON"):
        load_vqa(tmp_path / "broken.json")
    with pytest.raises(DatasetFormatError, match="no such file"):
        load_coco_captions(tmp_path / "missing.json")


def test_the_same_loaders_read_the_simulator_corpus(tmp_path):
    out = tmp_path / "corpus"
    build_corpus(out, CorpusConfig(houses=3, views_per_house=2, size=32, seed=1), progress=False)
    for split in ("train", "val", "test"):
        p = corpus_paths(out, split)
        caps = load_coco_captions(p["captions"], p["image_root"])
        assert all(im.path.is_file() for im in caps.images)
        assert all(len(caps.captions[im.image_id]) == 5 for im in caps.images)
        assert (p["image_root"] / str(caps.images[0].extra["semantic_file"])).is_file()
        inst = load_coco_instances(p["instances"], p["image_root"])
        assert {im.image_id for im in inst.images} == {im.image_id for im in caps.images}
        qs = load_vqa(p["questions"], p["annotations"])
        assert qs and all(len(q.answers) == 10 and q.family for q in qs)
        assert {q.image_id for q in qs} <= {im.image_id for im in caps.images}
