"""CLEVR questions files (``CLEVR_v1.0/questions/CLEVR_<split>_questions.json``).

Schema::

    {"info": {...},
     "questions": [{"question_index": 0, "question": "Are there more ...?",
                    "image_index": 0, "image_filename": "CLEVR_val_000000.png",
                    "split": "val", "question_family_index": 29,
                    "answer": "no",                      # absent in the test split
                    "program": [{"function": "scene", "inputs": [],
                                 "value_inputs": []}, ...]}]}   # absent in test

Images live in ``image_root / split / image_filename`` (``CLEVR_v1.0/images/<split>/``).
Papers report accuracy per question type, given by the program's final function
(count, exist, compare_integer, query_<attribute>, compare_<attribute>); that is
:func:`question_type`, the "family" used for per-family accuracy here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from vlnsim.errors import DatasetFormatError

from ._schema import PathLike, field, read_json

SCHEMA = "CLEVR questions"
# Final program function -> question type, as CLEVR papers group their accuracies.
_FINAL_FUNCTION_TYPES = {
    "count": "count", "exist": "exist",
    "equal_integer": "compare_integer", "less_than": "compare_integer", "greater_than": "compare_integer",
    "query_size": "query_size", "query_color": "query_color",
    "query_material": "query_material", "query_shape": "query_shape",
    "equal_size": "compare_size", "equal_color": "compare_color",
    "equal_material": "compare_material", "equal_shape": "compare_shape",
}


@dataclass(frozen=True)
class ClevrQuestion:
    """One CLEVR question (answer/program/family are None where the split omits them)."""

    question_index: int
    image_index: int
    image_filename: str
    image_path: Path
    split: str
    question: str
    answer: Optional[str]
    family_index: Optional[int]
    program: Optional[tuple]

    @property
    def question_type(self) -> Optional[str]:
        return question_type(self.program) if self.program else None


def question_type(program: Sequence[dict]) -> str:
    """Question type from the program's final function (CLEVR v1.0 ``function``, later ``type``)."""
    last = program[-1]
    fn = last.get("function", last.get("type"))
    if fn not in _FINAL_FUNCTION_TYPES:
        raise DatasetFormatError(f"CLEVR program ends in {fn!r}; expected one of {sorted(_FINAL_FUNCTION_TYPES)}")
    return _FINAL_FUNCTION_TYPES[fn]


def load_clevr_questions(path: PathLike, image_root: Optional[PathLike] = None, check_files: bool = False) -> List[ClevrQuestion]:
    """Read a CLEVR questions file.

    Args:
        path: the JSON file.
        image_root: the ``images`` folder holding ``<split>/<image_filename>`` (default:
            ``../images`` beside the ``questions`` folder, as CLEVR_v1.0 is laid out).
        check_files: raise when an image file does not exist.
    """
    path = Path(path)
    root = Path(image_root) if image_root is not None else path.parent.parent / "images"
    data = read_json(path, SCHEMA)
    records = field(data, "questions", list, path, "top level", SCHEMA)
    out: List[ClevrQuestion] = []
    for i, rec in enumerate(records):
        where = f"questions[{i}]"
        question = field(rec, "question", str, path, where, SCHEMA)
        image_index = field(rec, "image_index", int, path, where, SCHEMA)
        filename = field(rec, "image_filename", str, path, where, SCHEMA)
        split = field(rec, "split", str, path, where, SCHEMA)
        qindex = field(rec, "question_index", int, path, where, SCHEMA) if "question_index" in rec else i
        answer = field(rec, "answer", str, path, where, SCHEMA) if "answer" in rec else None
        family = field(rec, "question_family_index", int, path, where, SCHEMA) if "question_family_index" in rec else None
        program = None
        if "program" in rec:
            nodes = field(rec, "program", list, path, where, SCHEMA)
            for j, node in enumerate(nodes):
                if not isinstance(node, dict) or not ("function" in node or "type" in node):
                    raise DatasetFormatError(f"{path}: {where}.program[{j}] has no field 'function'; expected the {SCHEMA} schema")
            program = tuple(nodes) if nodes else None
            if program:
                try:
                    question_type(program)
                except DatasetFormatError as exc:
                    raise DatasetFormatError(f"{path}: {where}.program: {exc}") from None
        file = root / split / filename
        if check_files and not file.is_file():
            raise DatasetFormatError(f"{path}: {where} image file {file} does not exist (image_root={root})")
        out.append(ClevrQuestion(qindex, image_index, filename, file, split, question, answer, family, program))
    return out


def to_vqa_records(questions: Sequence[ClevrQuestion]) -> List[dict]:
    """VQA v2-style annotation records (10 identical answers, ``question_family`` = type).

    Lets the VQA head and the official VQA accuracy run on CLEVR unchanged; with ten
    identical answers the VQA accuracy of a prediction is exactly 0 or 1.
    """
    out = []
    for q in questions:
        if q.answer is None:
            raise DatasetFormatError(f"CLEVR question {q.question_index} has no answer (test split); cannot score it")
        rec: Dict[str, object] = {
            "question_id": q.question_index, "image_id": q.image_index, "question": q.question,
            "answers": [{"answer": q.answer, "answer_confidence": "yes", "answer_id": k + 1} for k in range(10)],
            "multiple_choice_answer": q.answer,
        }
        if q.question_type is not None:
            rec["question_family"] = q.question_type
        out.append(rec)
    return out
