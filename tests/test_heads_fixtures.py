"""Shared helpers of the heads tests (no tests here): a tiny random encoder stack and a tiny rendered corpus."""
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
