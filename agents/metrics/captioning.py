"""Captioning metrics through ``pycocoevalcap``'s scorers: BLEU-1..4, ROUGE-L, CIDEr-D, METEOR.

These are the scorers the COCO caption evaluation server and the captioning papers use
(``pycocoevalcap``'s ``Cider`` is CIDEr-D: clipped n-gram counts, Gaussian length penalty
σ = 6, ×10). Differences from ``pycocoevalcap.eval.COCOEvalCap``, stated in every result:

* **Tokenisation** is done in Python by :func:`tokenize`, which mimics the Stanford PTB
  tokenizer the official pipeline calls (lower-casing, clitics split off, punctuation
  tokens removed) without needing Java. On ordinary captions it gives the same tokens.
* **METEOR** runs only when ``java`` is on PATH (the scorer is a Java program); otherwise
  the result lists it under ``skipped`` with the reason.
* **SPICE** is never computed: it needs Java plus Stanford CoreNLP models downloaded at
  first use, which this project cannot fetch.
"""
from __future__ import annotations

import re
import shutil
from typing import Dict, Hashable, List, Mapping, Sequence, Union

# Tokens the official pipeline drops after PTB tokenisation (pycocoevalcap's list).
_DROPPED = frozenset({"''", "'", "``", "`", ".", "?", "!", ",", ":", "-", "--", "...", ";"})
# PTB escapes brackets; lower-cased, the escapes no longer match the drop list, so the
# official pipeline keeps them as tokens (and so do we).
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
_CLITIC = re.compile(r"(n't|'s|'re|'ve|'ll|'d|'m)$")
# Words PTB splits in two.
_SPLIT_WORDS = {"cannot": ("can", "not"), "gonna": ("gon", "na"), "gotta": ("got", "ta"), "wanna": ("wan", "na")}
# Abbreviations (u.s., e.g.), numbers with inner separators, words with inner
# hyphens/apostrophes/ampersands/slashes, or any other single non-space character.
_TOKEN = re.compile(r"(?:[a-z]\.){2,}|\d+(?:[.,:]\d+)+|\w+(?:[-'&/]\w+)*|\.\.\.|--|\S")
TOKENIZER_NOTE = "python PTB-style tokenizer (no Java PTBTokenizer)"
SPICE_NOTE = "SPICE not computed: needs Java and Stanford CoreNLP models downloaded at first use"


def tokenize(caption: str) -> str:
    """Lower-case and tokenise like pycocoevalcap's PTB step; return space-joined tokens."""
    tokens: List[str] = []
    for tok in _TOKEN.findall(caption.replace("\n", " ").lower()):
        m = _CLITIC.search(tok)
        if tok in _SPLIT_WORDS:
            tokens.extend(_SPLIT_WORDS[tok])
        elif m and m.start() > 0:
            tokens.extend((tok[: m.start()], tok[m.start():]))
        else:
            tokens.append(_BRACKETS.get(tok, tok))
    return " ".join(t for t in tokens if t not in _DROPPED and t != '"')


def java_available() -> bool:
    """True when a ``java`` executable is on PATH (METEOR needs one)."""
    return shutil.which("java") is not None


def _check_inputs(gts: Mapping, res: Mapping) -> None:
    missing = [k for k in gts if k not in res]
    extra = [k for k in res if k not in gts]
    if missing or extra:
        raise KeyError(
            f"caption_scores: predictions and references cover different images "
            f"(no prediction for {missing[:5]}, no references for {extra[:5]})"
        )
    for k, refs in gts.items():
        if isinstance(refs, str) or not refs:
            raise ValueError(f"caption_scores: references of image {k!r} must be a non-empty list of strings")


def caption_scores(
    references: Mapping[Hashable, Sequence[str]],
    predictions: Mapping[Hashable, Union[str, Sequence[str]]],
    meteor: Union[bool, str] = "auto",
) -> dict:
    """Score one predicted caption per image against its reference captions.

    Args:
        references: image id -> list of reference captions (raw text).
        predictions: image id -> predicted caption (raw text, or a one-element list).
        meteor: ``"auto"`` (when Java is present), ``True`` (required) or ``False``.

    Returns:
        ``{"bleu_1".."bleu_4", "rouge_l", "cider_d", ["meteor"], "num_images",
        "skipped": {metric: reason}, "tokenizer": str}``; scores are pycocoevalcap's
        (fractions; CIDEr-D on its ×10 scale).
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    preds = {k: (v if isinstance(v, str) else v[0]) for k, v in predictions.items()}
    _check_inputs(references, preds)
    if not references:
        raise ValueError("caption_scores: no images to score")
    gts = {k: [tokenize(c) for c in refs] for k, refs in references.items()}
    res = {k: [tokenize(preds[k])] for k in references}
    out: Dict[str, object] = {"num_images": len(gts), "tokenizer": TOKENIZER_NOTE}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    for n, value in enumerate(bleu, start=1):
        out[f"bleu_{n}"] = float(value)
    out["rouge_l"] = float(Rouge().compute_score(gts, res)[0])
    out["cider_d"] = float(Cider().compute_score(gts, res)[0])
    skipped = {"spice": SPICE_NOTE}
    want_meteor = java_available() if meteor == "auto" else bool(meteor)
    if want_meteor:
        if not java_available():
            raise RuntimeError("caption_scores: METEOR requested but no `java` on PATH")
        from pycocoevalcap.meteor.meteor import Meteor

        scorer = Meteor()
        try:
            out["meteor"] = float(scorer.compute_score(gts, res)[0])
        finally:
            _close_meteor(scorer)
    else:
        skipped["meteor"] = "METEOR not computed: no `java` on PATH" if meteor == "auto" else "METEOR disabled"
    out["skipped"] = skipped
    return out


def _close_meteor(scorer) -> None:
    # pycocoevalcap closes its Java process only in __del__; do it now, deterministically.
    proc = getattr(scorer, "meteor_p", None)
    if proc is not None and proc.poll() is None:
        with scorer.lock:
            proc.stdin.close()
            proc.kill()
            proc.wait()
