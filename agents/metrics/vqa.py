"""The official VQA v2 accuracy and its answer normalisation.

Semantics follow the VQA challenge's evaluation script (``vqaEval.py``, GT-Vision-Lab/VQA):

* A predicted answer is cleaned (newlines/tabs to spaces, stripped), then
  :func:`process_punctuation` and :func:`process_digit_article` are applied.
* The ten human answers are compared *as stored*, except that when they are not all
  identical each gets :func:`process_punctuation` (the official script does exactly this;
  VQA v2 annotations are already lower-case with digits and no articles).
* Accuracy of one question = mean over the 10 leave-one-out subsets of 9 human answers of
  ``min(1, #matches / 3)``. With ``m`` of 10 humans agreeing with the prediction that is
  ``(m·min(1,(m-1)/3) + (10-m)·min(1,m/3)) / 10``: 0, .3, .6, .9, 1, 1, ... for m = 0..4+.

Scores here are fractions in [0, 1] (the official script prints percentages).
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

# Number words the official script maps to digits ("none" counts as 0).
NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}
ARTICLES = frozenset({"a", "an", "the"})
# Characters the official script removes (or turns into spaces). It keeps apostrophes
# (contractions) and colons, and handles periods separately.
PUNCTUATION = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")
_COMMA_BETWEEN_DIGITS = re.compile(r"(\d)(,)(\d)")
# A period not followed by a digit (so "2.5" keeps its decimal point).
_PERIOD = re.compile(r"\.(?!\d)")

# Contracted forms the official table restores. Its keys are each form with exactly one
# apostrophe dropped ("dont" -> "don't", "couldnt've"/"couldn'tve" -> "couldn't've",
# "twas" -> "'twas"). Words that are also plain English words without the apostrophe
# (its, lets, well, were, hell, shed, id, wed, ...) are deliberately absent, as there.
# The table's capitalised "I'm"/"I've"/"I'd've" keys never match (answers are lower-cased
# first), so they are left out without changing any score.
_CONTRACTED = (
    "ain't", "aren't", "can't", "could've", "couldn't", "couldn't've", "didn't", "doesn't",
    "don't", "hadn't", "hadn't've", "hasn't", "haven't", "he'd", "he'd've", "he's", "how'd",
    "how'll", "how's", "isn't", "it'd", "it'd've", "it'll", "ma'am", "mightn't",
    "mightn't've", "might've", "mustn't", "must've", "needn't", "not've", "o'clock",
    "oughtn't", "'ow's'at", "shan't", "she'd've", "should've", "shouldn't", "shouldn't've",
    "somebody'd've", "somebody'll", "somebody's", "someone'd", "someone'd've",
    "someone'll", "someone's", "something'd", "something'd've", "something'll", "that's",
    "there'd", "there'd've", "there're", "there's", "they'd", "they'd've", "they'll",
    "they're", "they've", "'twas", "wasn't", "we'd've", "we've", "weren't", "what'll",
    "what're", "what's", "what've", "when's", "where'd", "where's", "where've", "who'd",
    "who'd've", "who'll", "who's", "who've", "why'll", "why're", "why's", "won't",
    "would've", "wouldn't", "wouldn't've", "y'all", "y'all'll", "y'all'd've", "you'd",
    "you'd've", "you'll", "you're", "you've",
)


def _contraction_table() -> Dict[str, str]:
    table: Dict[str, str] = {}
    for full in _CONTRACTED:
        for i, ch in enumerate(full):
            if ch == "'":
                table[full[:i] + full[i + 1:]] = full
    # A quirk of the official table, kept so scores match it: this entry maps the other way.
    table["somebody'd"] = "somebodyd"
    return table


CONTRACTIONS = _contraction_table()


def process_punctuation(text: str) -> str:
    """Remove punctuation as the official script does.

    A punctuation mark adjacent to a space (or any mark, when the text contains a comma
    between digits) is deleted; otherwise it becomes a space ("black/white" -> "black white").
    Periods not followed by a digit are deleted.
    """
    out = text
    digit_comma = _COMMA_BETWEEN_DIGITS.search(text) is not None
    for p in PUNCTUATION:
        if (p + " " in text or " " + p in text) or digit_comma:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD.sub("", out)


def process_digit_article(text: str) -> str:
    """Lower-case, map number words to digits, drop articles, restore contractions."""
    words = [NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in ARTICLES]
    return " ".join(CONTRACTIONS.get(w, w) for w in words)


def normalize_answer(answer: str) -> str:
    """Full normalisation applied to a predicted answer (and to training answers here)."""
    text = answer.replace("\n", " ").replace("\t", " ").strip()
    return process_digit_article(process_punctuation(text))


def vqa_accuracy(prediction: str, gt_answers: Sequence[str]) -> float:
    """Official accuracy of one predicted answer against the human answers (usually 10)."""
    if not gt_answers:
        raise ValueError("vqa_accuracy: no ground-truth answers; VQA v2 stores 10 per question")
    pred = normalize_answer(prediction)
    gts = list(gt_answers)
    if len(set(gts)) > 1:
        gts = [process_punctuation(a) for a in gts]
    matches = [a == pred for a in gts]
    total = sum(matches)
    # Leaving answer i out removes one match exactly when answer i matched.
    scores = [min(1.0, (total - int(m)) / 3.0) for m in matches]
    return sum(scores) / len(scores)


def soft_score(count: int) -> float:
    """VQA v2 soft target of an answer given by ``count`` humans: min(1, count/3)."""
    return min(1.0, count / 3.0)


def evaluate_vqa(
    predictions: Mapping[int, str],
    annotations: Iterable[Mapping],
    family_key: Optional[str] = None,
) -> dict:
    """Accuracy over a set of questions, overall and per group.

    Args:
        predictions: question_id -> predicted answer string.
        annotations: VQA v2 annotation records (``question_id``, ``answers`` as
            ``[{"answer": ...}, ...]``, optionally ``answer_type``/``question_type``).
        family_key: an extra annotation field to group by (e.g. the CLEVR-style family).

    Returns:
        ``{"overall", "per_answer_type", "per_question_type", "per_family", "per_question",
        "num_questions"}``; every question in ``annotations`` must have a prediction.
    """
    per_question: Dict[int, float] = {}
    groups: Dict[str, Dict[str, List[float]]] = {
        "per_answer_type": defaultdict(list), "per_question_type": defaultdict(list), "per_family": defaultdict(list),
    }
    for ann in annotations:
        qid = ann["question_id"]
        if qid not in predictions:
            raise KeyError(f"evaluate_vqa: no prediction for question_id {qid}")
        acc = vqa_accuracy(predictions[qid], [a["answer"] for a in ann["answers"]])
        per_question[qid] = acc
        for key, field in (("per_answer_type", "answer_type"), ("per_question_type", "question_type"),
                           ("per_family", family_key)):
            if field and field in ann:
                groups[key][str(ann[field])].append(acc)
    n = len(per_question)
    result = {
        "overall": sum(per_question.values()) / n if n else 0.0,
        "num_questions": n,
        "per_question": per_question,
    }
    for key, table in groups.items():
        result[key] = {k: sum(v) / len(v) for k, v in sorted(table.items())}
    return result
