"""Shared helpers of the heads tests (not a test module): a tiny random encoder stack, a tiny rendered
corpus, and Karpathy / CLEVR records shaped exactly like the real files."""
from __future__ import annotations

import json
from pathlib import Path

import torch

TINY_VISION = dict(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                   intermediate_size=64)
TINY_TEXT = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)


def tiny_encoder(texts, work_dir: Path, seed: int = 0):
    """A random VLPModel small enough for unit tests (word-level tokenizer over ``texts``)."""
    from agents.vlp import VLPConfig, VLPModel

    cfg = VLPConfig(vision=None, vision_config=dict(TINY_VISION), text=None, text_config=dict(TINY_TEXT),
                    embed_dim=32, fusion_hidden=32, fusion_layers=1, fusion_heads=2, max_text_length=32)
    return VLPModel.build(cfg, texts=list(texts), work_dir=Path(work_dir), seed=seed)


def tiny_corpus(out: Path) -> Path:
    """Render a 4-house corpus (2 train, 1 val, 1 test) (32 px) with ``vlnsim.corpus`` (the make-corpus code)."""
    from vlnsim.corpus import CorpusConfig, build_corpus

    build_corpus(out, CorpusConfig(houses=4, views_per_house=6, size=32, seed=1, val_fraction=0.25, test_fraction=0.25),
                 progress=False)
    return out


def corpus_texts(corpus: Path):
    a = corpus / "annotations"
    texts = []
    for split in ("train", "val", "test"):
        texts += [x["caption"] for x in json.loads((a / f"captions_{split}.json").read_text())["annotations"]]
        texts += [x["question"] for x in json.loads((a / f"vqa_{split}_questions.json").read_text())["questions"]]
    return texts


def random_images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, size, size, 3), dtype=torch.uint8, generator=g)


# Shaped exactly like two records of dataset_coco.json (values shortened).
DATASET_COCO = {
    "dataset": "coco",
    "images": [
        {"filepath": "val2014", "sentids": [770337, 771687], "filename": "COCO_val2014_000000391895.jpg",
         "imgid": 0, "split": "test", "cocoid": 391895,
         "sentences": [
             {"tokens": ["a", "man", "with", "a", "red", "helmet", "on", "a", "small", "moped", "on", "a", "dirt", "road"],
              "raw": "A man with a red helmet on a small moped on a dirt road. ", "imgid": 0, "sentid": 770337},
             {"tokens": ["man", "riding", "a", "motor", "bike", "on", "a", "dirt", "road", "on", "the", "countryside"],
              "raw": "Man riding a motor bike on a dirt road on the countryside.", "imgid": 0, "sentid": 771687}]},
        {"filepath": "train2014", "sentids": [787980], "filename": "COCO_train2014_000000318556.jpg",
         "imgid": 1, "split": "restval", "cocoid": 318556,
         "sentences": [{"tokens": ["a", "very", "clean", "and", "well", "decorated", "empty", "bathroom"],
                        "raw": "A very clean and well decorated empty bathroom", "imgid": 1, "sentid": 787980}]},
        {"filepath": "val2014", "sentids": [681330], "filename": "COCO_val2014_000000522418.jpg",
         "imgid": 2, "split": "val", "cocoid": 522418,
         "sentences": [{"tokens": ["a", "woman", "wearing", "a", "net", "on", "her", "head", "cutting", "a", "cake"],
                        "raw": "A woman wearing a net on her head cutting a cake. ", "imgid": 2, "sentid": 681330}]},
    ],
}
# dataset_flickr30k.json: same shape, no filepath and no cocoid.
DATASET_FLICKR = {
    "dataset": "flickr30k",
    "images": [
        {"sentids": [0, 1], "imgid": 0, "split": "train", "filename": "1000092795.jpg",
         "sentences": [{"tokens": ["two", "young", "guys"], "raw": "Two young guys with shaggy hair.", "imgid": 0, "sentid": 0},
                       {"tokens": ["two", "young", "men"], "raw": "Two young, White males are outside.", "imgid": 0, "sentid": 1}]},
        {"sentids": [2], "imgid": 1, "split": "test", "filename": "10002456.jpg",
         "sentences": [{"tokens": ["several", "men"], "raw": "Several men in hard hats.", "imgid": 1, "sentid": 2}]},
    ],
}
# Shaped like CLEVR_val_questions.json records.
CLEVR_VAL = {
    "info": {"split": "val", "license": "Creative Commons Attribution (CC BY 4.0)", "version": "1.0", "date": "2/14/2017"},
    "questions": [
        {"image_index": 0, "program": [
            {"inputs": [], "function": "scene", "value_inputs": []},
            {"inputs": [0], "function": "filter_size", "value_inputs": ["large"]},
            {"inputs": [1], "function": "count", "value_inputs": []}],
         "question_index": 0, "image_filename": "CLEVR_val_000000.png", "question_family_index": 40,
         "split": "val", "answer": "3", "question": "How many large things are there?"},
        {"image_index": 0, "program": [
            {"inputs": [], "function": "scene", "value_inputs": []},
            {"inputs": [0], "function": "filter_color", "value_inputs": ["cyan"]},
            {"inputs": [1], "function": "unique", "value_inputs": []},
            {"inputs": [2], "function": "query_material", "value_inputs": []}],
         "question_index": 1, "image_filename": "CLEVR_val_000000.png", "question_family_index": 86,
         "split": "val", "answer": "rubber", "question": "What is the cyan thing made of?"},
        {"image_index": 1, "program": [
            {"inputs": [], "function": "scene", "value_inputs": []},
            {"inputs": [0], "function": "filter_shape", "value_inputs": ["cube"]},
            {"inputs": [1], "function": "exist", "value_inputs": []}],
         "question_index": 2, "image_filename": "CLEVR_val_000001.png", "question_family_index": 38,
         "split": "val", "answer": "yes", "question": "Are there any cubes?"},
    ],
}
CLEVR_TEST = {"info": {"split": "test"}, "questions": [
    {"image_index": 0, "question_index": 0, "image_filename": "CLEVR_test_000000.png", "split": "test",
     "question": "Is there a red sphere?"}]}
