"""Karpathy split and CLEVR questions loaders on fixtures written in the real schemas."""
import json

import numpy as np
import pytest
from PIL import Image

from agents.datasets.clevr import load_clevr_questions, question_type, to_vqa_records
from agents.datasets.karpathy import caption_references, load_karpathy, retrieval_pairs
from agents.metrics.vqa import evaluate_vqa
from vlnsim.errors import DatasetFormatError, VlnsimError

from heads_fixtures import CLEVR_TEST, CLEVR_VAL, DATASET_COCO, DATASET_FLICKR


def _image(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 255, size=(8, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)


@pytest.fixture
def coco_dir(tmp_path):
    ann = tmp_path / "dataset_coco.json"
    ann.write_text(json.dumps(DATASET_COCO))
    for k, rec in enumerate(DATASET_COCO["images"]):
        _image(tmp_path / "coco" / rec["filepath"] / rec["filename"], k)
    return tmp_path


def test_karpathy_coco(coco_dir):
    images = load_karpathy(coco_dir / "dataset_coco.json", image_root=coco_dir / "coco", check_files=True)
    assert [i.image_id for i in images] == [391895, 318556, 522418]
    assert [i.split for i in images] == ["test", "train", "val"]  # restval counts as train
    assert images[0].path == coco_dir / "coco" / "val2014" / "COCO_val2014_000000391895.jpg"
    assert images[0].captions[1] == "Man riding a motor bike on a dirt road on the countryside."
    assert images[1].tokens[0][:3] == ("a", "very", "clean")
    assert [i.image_id for i in load_karpathy(coco_dir / "dataset_coco.json", splits=["test"])] == [391895]
    assert load_karpathy(coco_dir / "dataset_coco.json", restval_as_train=False)[1].split == "restval"
    paths, texts, t2i = retrieval_pairs(images)
    assert len(paths) == 3 and len(texts) == 4 and t2i == [0, 0, 1, 2]
    assert caption_references(images)[522418] == ["A woman wearing a net on her head cutting a cake. "]


def test_karpathy_flickr(tmp_path):
    (tmp_path / "dataset_flickr30k.json").write_text(json.dumps(DATASET_FLICKR))
    for k, rec in enumerate(DATASET_FLICKR["images"]):
        _image(tmp_path / "flickr30k-images" / rec["filename"], k)
    images = load_karpathy(tmp_path / "dataset_flickr30k.json", image_root=tmp_path / "flickr30k-images", check_files=True)
    assert [i.image_id for i in images] == [0, 1]
    assert images[1].path == tmp_path / "flickr30k-images" / "10002456.jpg"
    assert Image.open(images[0].path).size == (8, 8)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("images"), r"top level has no field 'images'"),
        (lambda d: d["images"][1].pop("filename"), r"images\[1\] has no field 'filename'"),
        (lambda d: d["images"][2]["sentences"][0].pop("raw"), r"images\[2\]\.sentences\[0\] has no field 'raw'"),
        (lambda d: d["images"][0].update(split="dev"), r"images\[0\]\.split is 'dev'"),
        (lambda d: d["images"][0].update(cocoid="391895"), r"images\[0\]\.cocoid is str"),
        (lambda d: d["images"][2].update(cocoid=391895), r"repeats image id 391895"),
    ],
)
def test_karpathy_errors_name_file_and_field(tmp_path, mutate, message):
    data = json.loads(json.dumps(DATASET_COCO))
    mutate(data)
    path = tmp_path / "dataset_coco.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetFormatError, match=message) as info:
        load_karpathy(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, VlnsimError)


def test_karpathy_missing_and_bad_files(tmp_path, coco_dir):
    with pytest.raises(DatasetFormatError, match="no such file"):
        load_karpathy(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DatasetFormatError, match="not valid JSON"):
        load_karpathy(tmp_path / "bad.json")
    with pytest.raises(DatasetFormatError, match="does not exist"):
        load_karpathy(coco_dir / "dataset_coco.json", image_root=tmp_path / "elsewhere", check_files=True)


@pytest.fixture
def clevr_root(tmp_path):
    root = tmp_path / "CLEVR_v1.0"
    (root / "questions").mkdir(parents=True)
    (root / "questions" / "CLEVR_val_questions.json").write_text(json.dumps(CLEVR_VAL))
    (root / "questions" / "CLEVR_test_questions.json").write_text(json.dumps(CLEVR_TEST))
    for k in range(2):
        _image(root / "images" / "val" / f"CLEVR_val_{k:06d}.png", k)
    _image(root / "images" / "test" / "CLEVR_test_000000.png", 9)
    return root


def test_clevr_val(clevr_root):
    qs = load_clevr_questions(clevr_root / "questions" / "CLEVR_val_questions.json", check_files=True)
    assert [q.answer for q in qs] == ["3", "rubber", "yes"]
    assert [q.question_type for q in qs] == ["count", "query_material", "exist"]
    assert qs[2].image_path == clevr_root / "images" / "val" / "CLEVR_val_000001.png"
    assert qs[0].family_index == 40
    recs = to_vqa_records(qs)
    res = evaluate_vqa({0: "three", 1: "metal", 2: "yes"}, recs, family_key="question_family")
    assert res["per_family"] == {"count": 1.0, "exist": 1.0, "query_material": 0.0}
    assert res["overall"] == pytest.approx(2 / 3)


def test_clevr_test_split_has_no_answers(clevr_root):
    qs = load_clevr_questions(clevr_root / "questions" / "CLEVR_test_questions.json", check_files=True)
    assert qs[0].answer is None and qs[0].program is None and qs[0].question_type is None
    with pytest.raises(DatasetFormatError, match="no answer"):
        to_vqa_records(qs)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["questions"][1].pop("image_filename"), r"questions\[1\] has no field 'image_filename'"),
        (lambda d: d["questions"][0].update(image_index="0"), r"questions\[0\]\.image_index is str"),
        (lambda d: d["questions"][2]["program"][2].update(function="frobnicate"), r"questions\[2\]\.program: .*'frobnicate'"),
        (lambda d: d.update(questions={}), r"top level.questions is dict"),
    ],
)
def test_clevr_errors_name_file_and_field(tmp_path, mutate, message):
    data = json.loads(json.dumps(CLEVR_VAL))
    mutate(data)
    path = tmp_path / "CLEVR_val_questions.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetFormatError, match=message) as info:
        load_clevr_questions(path)
    assert str(path) in str(info.value)


def test_question_type_from_final_function():
    assert question_type([{"function": "scene"}, {"function": "greater_than"}]) == "compare_integer"
    assert question_type([{"type": "scene"}, {"type": "equal_color"}]) == "compare_color"
