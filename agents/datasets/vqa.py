"""VQA v2 question + annotation files (``v2_OpenEnded_mscoco_val2014_questions.json`` and
``v2_mscoco_val2014_annotations.json``; ``vqa_<split>_{questions,annotations}.json`` of the corpus).

Schema::

    questions:   {"questions": [{"image_id", "question", "question_id"}], "task_type", "data_type", ...}
    annotations: {"annotations": [{"question_id", "image_id", "question_type", "answer_type",
                                   "multiple_choice_answer",
                                   "answers": [{"answer", "answer_confidence", "answer_id"}] x 10}]}

The annotations file is optional (test-dev has none). The corpus adds
``question_family`` to each annotation (CLEVR-style program family).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from vlnsim.errors import DatasetFormatError

from ._schema import PathLike, field, read_json

SCHEMA_Q = "VQA v2 questions"
SCHEMA_A = "VQA v2 annotations"


@dataclass(frozen=True)
class VQAQuestion:
    """A question with (when annotated) its 10 answers."""

    question_id: int
    image_id: int
    question: str
    answers: Tuple[str, ...] = ()
    multiple_choice_answer: Optional[str] = None
    answer_type: Optional[str] = None
    question_type: Optional[str] = None
    family: Optional[str] = None


def load_vqa(questions_path: PathLike, annotations_path: Optional[PathLike] = None) -> List[VQAQuestion]:
    """Questions in file order, joined with their annotations by ``question_id``."""
    qpath = Path(questions_path)
    qdata = read_json(qpath, SCHEMA_Q)
    qs = field(qdata, "questions", list, qpath, "top level", SCHEMA_Q)
    anns = {}
    if annotations_path is not None:
        apath = Path(annotations_path)
        adata = read_json(apath, SCHEMA_A)
        for i, a in enumerate(field(adata, "annotations", list, apath, "top level", SCHEMA_A)):
            where = f"annotations[{i}]"
            qid = field(a, "question_id", int, apath, where, SCHEMA_A)
            answers = field(a, "answers", list, apath, where, SCHEMA_A)
            texts = tuple(field(x, "answer", str, apath, f"{where}.answers[{k}]", SCHEMA_A) for k, x in enumerate(answers))
            if not texts:
                raise DatasetFormatError(f"{apath}: {where}.answers is empty; expected the human answers (10 in VQA v2)")
            anns[qid] = (texts, field(a, "multiple_choice_answer", str, apath, where, SCHEMA_A),
                         a.get("answer_type"), a.get("question_type"), a.get("question_family"))
    out = []
    for i, q in enumerate(qs):
        where = f"questions[{i}]"
        qid = field(q, "question_id", int, qpath, where, SCHEMA_Q)
        rec = dict(question_id=qid, image_id=field(q, "image_id", int, qpath, where, SCHEMA_Q),
                   question=field(q, "question", str, qpath, where, SCHEMA_Q))
        if annotations_path is not None:
            if qid not in anns:
                raise DatasetFormatError(f"{annotations_path}: no annotation for question_id {qid} of {qpath}")
            a = anns[qid]
            rec.update(answers=a[0], multiple_choice_answer=a[1], answer_type=a[2], question_type=a[3], family=a[4])
        out.append(VQAQuestion(**rec))
    return out
