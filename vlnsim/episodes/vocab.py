"""Instruction vocabulary (VLN-CE ``word_list``) and a Hugging Face sub-word tokenizer.

Word vocabulary: ids ``0 = <PAD>``, ``1 = <UNK>``, ``2 = <EOS>`` (reserved, as in the
R2R/EnvDrop vocabularies; ``encode`` never appends it), then words sorted by
descending train-split frequency (ties alphabetical). Tokenisation is habitat's
VLN-CE ``tokenize``: lower-case, split on runs of characters other than word
characters and ``-``, keep ``'s`` as its own token, drop ``,`` and ``?``; so ``.`` is
a token.

Sub-word tokenizer: a WordPiece ``tokenizers.Tokenizer`` (BERT-style lower-casing
normaliser and pre-tokeniser, ``[CLS] ... [SEP]`` template) trained on the train
split's instructions and saved as ``tokenizer.json`` in the dataset version directory;
training is deterministic (the same texts give a byte-identical file).
"""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Union

from ..errors import EpisodeFormatError

PAD, UNK, EOS = "<PAD>", "<UNK>", "<EOS>"
PAD_ID, UNK_ID, EOS_ID = 0, 1, 2
RESERVED = (PAD, UNK, EOS)
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

_SPLIT = re.compile(r"([^\w-]+)")


def tokenize(text: str) -> List[str]:
    """Split an instruction into lower-case word tokens (habitat's VLN-CE rules)."""
    s = text.lower().replace("'s", " 's")
    for ch in (",", "?"):
        s = s.replace(ch, "")
    return [t.strip() for t in _SPLIT.split(s) if t.strip()]


class Vocabulary:
    """Word <-> id map over a VLN-CE ``word_list`` (``<PAD>`` = 0, ``<UNK>`` = 1)."""

    def __init__(self, word_list: Sequence[str]):
        words = list(word_list)
        if len(words) < 2 or words[PAD_ID] != PAD or words[UNK_ID] != UNK:
            raise EpisodeFormatError(f"word_list must start with {PAD!r}, {UNK!r}; got {words[:3]!r}")
        if len(set(words)) != len(words):
            dup = next(w for w, c in Counter(words).items() if c > 1)
            raise EpisodeFormatError(f"word_list repeats the word {dup!r}")
        self.word_list = words
        self._index = {w: i for i, w in enumerate(words)}

    def __len__(self) -> int:
        return len(self.word_list)

    def __contains__(self, word: str) -> bool:
        return word in self._index

    def word_to_id(self, word: str) -> int:
        return self._index.get(word, UNK_ID)

    def encode(self, text: str, max_length: Optional[int] = None) -> List[int]:
        """Token ids of ``text``; with ``max_length``, truncated/padded with 0 to that length."""
        ids = [self._index.get(t, UNK_ID) for t in tokenize(text)]
        if max_length is not None:
            ids = ids[:max_length] + [PAD_ID] * max(0, max_length - len(ids))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Words of ``ids`` joined by spaces, skipping padding and stopping at ``<EOS>``."""
        out = []
        for i in ids:
            i = int(i)
            if i == PAD_ID:
                continue
            if i == EOS_ID and len(self.word_list) > EOS_ID and self.word_list[EOS_ID] == EOS:
                break
            if not 0 <= i < len(self.word_list):
                raise ValueError(f"token id {i} outside the vocabulary of {len(self.word_list)} words")
            out.append(self.word_list[i])
        return " ".join(out)

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> "Vocabulary":
        """Vocabulary of the words occurring at least ``min_count`` times in ``texts``."""
        counts = Counter(t for text in texts for t in tokenize(text))
        words = sorted((w for w, c in counts.items() if c >= min_count and w not in RESERVED), key=lambda w: (-counts[w], w))
        return cls(list(RESERVED) + words)


def _learn_wordpiece(words: Counter, vocab_size: int, min_frequency: int) -> List[str]:
    """Sub-word vocabulary by BPE-style merges with deterministic tie-breaking.

    As the ``tokenizers`` WordPiece trainer does: start from the characters (word-initial
    as is, the others with the ``##`` continuation prefix), then repeatedly merge the
    most frequent adjacent pair (frequency weighted by word count) into a new token. Its
    Rust trainer breaks ties in hash-map order, which changes between runs; here ties go
    to the lexicographically smallest pair, so the vocabulary depends on the texts only.
    """
    seqs = {w: [c if i == 0 else "##" + c for i, c in enumerate(w)] for w in words}
    vocab = sorted({t for seq in seqs.values() for t in seq})
    known = set(vocab) | set(TOKENIZER_SPECIALS)
    limit = vocab_size - len(TOKENIZER_SPECIALS)
    while len(vocab) < limit:
        pairs: Counter = Counter()
        for w, seq in seqs.items():
            for a, b in zip(seq, seq[1:]):
                pairs[(a, b)] += words[w]
        if not pairs:
            break
        (a, b), count = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if count < min_frequency:
            break
        merged = a + b[2:] if b.startswith("##") else a + b
        for w, seq in seqs.items():
            i, out = 0, []
            while i < len(seq):
                if i + 1 < len(seq) and seq[i] == a and seq[i + 1] == b:
                    out.append(merged)
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            seqs[w] = out
        if merged not in known:
            known.add(merged)
            vocab.append(merged)
    return vocab


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1000, min_frequency: int = 1):
    """Train a small WordPiece ``tokenizers.Tokenizer`` on ``texts`` (same texts -> byte-identical JSON)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)
    pre = pre_tokenizers.BertPreTokenizer()
    words: Counter = Counter()
    for text in texts:
        words.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
    pieces = _learn_wordpiece(words, vocab_size, min_frequency)
    vocab = {t: i for i, t in enumerate(list(TOKENIZER_SPECIALS) + pieces)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.WordPiece()
    tok.add_special_tokens(list(TOKENIZER_SPECIALS))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    tok.enable_padding(pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
    return tok


def save_tokenizer(tokenizer, directory: Union[str, os.PathLike]) -> Path:
    """Write ``tokenizer.json`` into ``directory`` atomically; return its path."""
    from ..io_utils import atomic_write_text

    path = Path(directory) / TOKENIZER_FILE
    atomic_write_text(path, tokenizer.to_str())
    return path


def load_tokenizer(path: Union[str, os.PathLike]):
    """Load the dataset tokenizer from ``tokenizer.json`` or a directory holding it."""
    from tokenizers import Tokenizer

    p = Path(path)
    if p.is_dir():
        p = p / TOKENIZER_FILE
    if not p.is_file():
        raise FileNotFoundError(f"tokenizer file not found: {p} (generate the dataset with `vlnsim generate`)")
    try:
        return Tokenizer.from_file(str(p))
    except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
        raise EpisodeFormatError(f"{p}: not a valid tokenizers JSON file: {exc}") from None
