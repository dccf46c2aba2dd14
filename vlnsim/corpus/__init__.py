"""A grounded image-text corpus rendered from procedural houses (torch-free).

``build_corpus(out_dir, CorpusConfig(...))`` renders views from random navigable poses
(``views``), writes captions (``captions``), COCO boxes (``boxes``) and CLEVR-style
questions (``questions``) from the simulator's ground truth, and stores everything in
the public COCO / VQA v2 / Karpathy schemas (``writers``). ``vlnsim make-corpus`` is the
command-line front end.
"""
from __future__ import annotations

from .build import CorpusConfig, build_corpus

__all__ = ["CorpusConfig", "build_corpus"]
