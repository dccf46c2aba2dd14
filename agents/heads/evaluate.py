"""Evaluation of a fine-tuned task model, with predictions in the standard results formats.

* retrieval: R@1/5/10 both directions and RSUM, by ITC alone and by ITC + ITM
  re-ranking; ``retrieval_rankings.json`` = the top-10 of every query
  (``{"image_ids", "texts", "text_image_ids", "i2t": [[text index, ...]], "t2i": [[image index, ...]]}``).
* vqa: official VQA accuracy overall and per family, beside the majority-answer
  baseline of each family; ``vqa_results.json`` = ``[{"question_id", "answer"}]``.
* caption: BLEU-1..4, ROUGE-L, CIDEr-D (METEOR with Java); ``captions_results.json`` =
  ``[{"image_id", "caption"}]`` (COCO results format).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional

import torch

from vlnsim.io_utils import atomic_write_text

from .data import ImageTextSet, VQASet
from .task_model import TaskModel

RESULT_FILES = {"retrieval": "retrieval_rankings.json", "vqa": "vqa_results.json", "caption": "captions_results.json"}


def _write(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj))


@torch.no_grad()
def evaluate_retrieval(model: TaskModel, data: ImageTextSet, features, out_dir: Optional[Path], device=None,
                       progress: bool = False) -> Dict:
    from .retrieval import rank_scores, retrieval_report
    from agents.metrics.retrieval import rankings

    texts, owner = data.flat()
    scores = rank_scores(model.encoder, features, len(data.image_ids), len(texts), model.head_config, device, progress)
    report = retrieval_report(scores, owner)
    report["num_images"], report["num_texts"] = len(data.image_ids), len(texts)
    report["k_test"] = model.head_config.k_test if "itm" in report else 0
    if out_dir is not None:
        best = scores.get("itm_i2t", scores["itc"])
        r = rankings(best, top=10)
        if "itm_t2i" in scores:
            r["t2i"] = rankings(scores["itm_t2i"], top=10)["t2i"]
        _write(out_dir / RESULT_FILES["retrieval"], {
            "image_ids": data.image_ids, "texts": texts, "text_image_ids": [data.image_ids[i] for i in owner],
            "ranked_by": "itc+itm" if "itm_t2i" in scores else "itc", **r})
    return report


@torch.no_grad()
def evaluate_vqa_task(model: TaskModel, data: VQASet, features, out_dir: Optional[Path], device=None,
                      baseline: Optional[Dict[str, str]] = None, batch_size: int = 128) -> Dict:
    from agents.metrics.vqa import evaluate_vqa

    from .vqa import answer_scores, predict_answers

    preds: Dict[int, str] = {}
    qs = data.questions
    # with mirror_tta the features were built over mirror_augment(data): copies after the originals
    mirror = (len(qs), len(data.paths)) if getattr(model.head_config, "mirror_tta", False) else None
    for s in range(0, len(qs), batch_size):
        chunk = list(range(s, min(len(qs), s + batch_size)))
        scores = answer_scores(model.head, model.encoder, features, chunk, [qs[i]["image_index"] for i in chunk],
                               mirror=mirror, device=device)
        for i, a in zip(chunk, predict_answers(scores, model.answers)):
            preds[qs[i]["question_id"]] = a
    anns = data.annotations()
    res = evaluate_vqa(preds, anns, family_key="question_family")
    report = {"accuracy": res["overall"], "per_family": res["per_family"], "num_questions": res["num_questions"]}
    if baseline:
        fam_pred = {q["question_id"]: baseline.get(str(q.get("family")), baseline.get("", "")) for q in qs}
        base = evaluate_vqa(fam_pred, anns, family_key="question_family")
        report["majority_baseline"] = {"accuracy": base["overall"], "per_family": base["per_family"]}
    if out_dir is not None:
        _write(out_dir / RESULT_FILES["vqa"], [{"question_id": qid, "answer": a} for qid, a in preds.items()])
    return report


@torch.no_grad()
def evaluate_caption(model: TaskModel, data: ImageTextSet, features, out_dir: Optional[Path], device=None,
                     batch_size: int = 32, meteor="auto", progress: bool = False) -> Dict:
    from agents.metrics.captioning import caption_scores

    head = model.head
    preds: Dict[int, str] = {}
    starts = range(0, len(data.image_ids), batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="captioning", unit="batch", leave=False)
    for s in starts:
        idx = list(range(s, min(len(data.image_ids), s + batch_size)))
        for i, c in zip(idx, head.caption(features.images(idx, device).tokens)):
            preds[data.image_ids[i]] = c
    report = caption_scores(data.references(), preds, meteor=meteor if head.cfg.meteor else False)
    report["decoding"] = {"num_beams": head.cfg.num_beams, "length_penalty": head.cfg.length_penalty,
                          "min_new_tokens": head.cfg.min_new_tokens, "max_new_tokens": head.cfg.max_new_tokens,
                          "prompt": head.cfg.prompt}
    if out_dir is not None:
        _write(out_dir / RESULT_FILES["caption"], [{"image_id": iid, "caption": c} for iid, c in preds.items()])
    return report


def evaluate_task(model: TaskModel, data, out_dir: Optional[Path], frozen: bool = True, device=None,
                  baseline: Optional[Dict[str, str]] = None, progress: bool = False, meteor="auto") -> Dict:
    """Evaluate ``model`` on ``data`` (its task's kind); writes the results file into ``out_dir``."""
    from .finetune import build_features

    model.eval()
    from .data import mirror_augment

    tta = model.task == "vqa" and getattr(model.head_config, "mirror_tta", False)
    features = build_features(model.encoder, mirror_augment(data) if tta else data, frozen, progress, model.task)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    if model.task == "retrieval":
        return evaluate_retrieval(model, data, features, out_dir, device, progress)
    if model.task == "vqa":
        return evaluate_vqa_task(model, data, features, out_dir, device, baseline)
    return evaluate_caption(model, data, features, out_dir, device, meteor=meteor, progress=progress)
