"""Image-text data for pretraining and retrieval: images in memory, cached text features.

``load_image_text`` reads any COCO captions file (the real COCO or a ``vlnsim
make-corpus`` split) into a uint8 image tensor resized to the model's input size, the
captions per image and, when the records name a semantic map (the corpus does), the
exact per-patch object category for masked-region classification.

``TextFeatureCache`` runs a frozen text tower once over every distinct text and keeps
its token states (float16, packed without padding); batches are assembled from it, so
a frozen tower costs nothing per step.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from agents.datasets.coco_captions import load_coco_captions
from vlnsim.errors import DatasetFormatError

from .objectives import IGNORE, mask_tokens, patch_labels


@dataclass
class ImageTextData:
    """Images (N, S, S, 3) uint8, their ids, captions and optional (N, P) patch categories."""

    images: torch.Tensor
    image_ids: List[int]
    captions: List[List[str]]
    region_labels: Optional[torch.Tensor] = None

    def __len__(self) -> int:
        return len(self.image_ids)


def _read_image(path: Path, size: int, mode: str, resample) -> np.ndarray:
    from PIL import Image

    if not path.is_file():
        raise DatasetFormatError(f"{path}: image file not found (named by the captions file)")
    with Image.open(path) as im:
        im = im.convert(mode) if mode == "RGB" else im
        if im.size != (size, size):
            im = im.resize((size, size), resample)
        return np.asarray(im)


def load_image_text(captions_path, image_root, size: int, grid: int, limit: Optional[int] = None) -> ImageTextData:
    """Read a COCO captions file and its images (resized to ``size``); see module docstring."""
    from PIL import Image

    coco = load_coco_captions(captions_path, image_root)
    records = [im for im in coco.images if coco.captions.get(im.image_id)]
    if limit is not None:
        records = records[:limit]
    if not records:
        raise DatasetFormatError(f"{captions_path}: no image has a caption; expected a COCO captions file with annotations")
    images = np.stack([_read_image(r.path, size, "RGB", Image.BILINEAR) for r in records])
    labels = None
    if all("semantic_file" in r.extra for r in records):
        sem = np.stack([_read_image(r.path.parent / str(r.extra["semantic_file"]), size, "L", Image.NEAREST) for r in records])
        labels = patch_labels(torch.from_numpy(sem.astype(np.int64)), grid)
    return ImageTextData(torch.from_numpy(images), [r.image_id for r in records],
                         [coco.captions[r.image_id] for r in records], labels)


def cache_key(model, texts: Sequence[str], masked_texts: Sequence[str], mlm_prob: float, seed: int) -> str:
    """Content hash naming a cache file: text tower, tokenizer settings, texts, masking."""
    import hashlib
    import json as _json

    h = hashlib.sha256()
    # by content, not path: the same tower saved elsewhere (a run's final/text) shares the cache
    cfg = {k: v for k, v in model.text.config.to_dict().items() if not k.startswith(("_name_or_path", "transformers_version"))}
    with torch.no_grad():
        weights = [float(p.double().abs().sum()) for p in list(model.text.parameters())[::7]]
    tower = {"cfg": cfg, "weights": [f"{w:.6e}" for w in weights], "max_len": model.config.max_text_length,
             "vocab": len(model.tokenizer), "pooling": model.config.text_pooling}
    h.update(_json.dumps(tower, sort_keys=True, default=str).encode())
    h.update(_json.dumps([list(dict.fromkeys(texts)), list(dict.fromkeys(masked_texts)), mlm_prob, seed]).encode())
    return h.hexdigest()[:16]


class TextFeatureCache:
    """Frozen text-tower states of a fixed list of texts (and optional masked variants).

    Args:
        model: the ``VLPModel`` whose (frozen) text tower runs once here.
        texts: the texts; ``index[text]`` gives a text's row.
        masked: also cache one BERT-masked copy (15%, 80/10/10) of each text in
            ``masked_texts`` for MLM, with its labels.
    """

    def __init__(self, model, texts: Sequence[str], device: str = "cpu", batch_size: int = 256,
                 masked_texts: Sequence[str] = (), mlm_prob: float = 0.15, seed: int = 0, progress: bool = False,
                 cache_dir: Optional[Path] = None, save: bool = True):
        self.model = model
        self.device = device
        self.texts = list(dict.fromkeys(texts))
        self.index: Dict[str, int] = {t: i for i, t in enumerate(self.texts)}
        self.masked_texts = list(dict.fromkeys(masked_texts))
        self.masked_index = {t: i for i, t in enumerate(self.masked_texts)}
        self.m_states = self.m_offsets = self.m_labels = None
        path = None
        if cache_dir is not None:
            path = Path(cache_dir) / f"text_{cache_key(model, self.texts, self.masked_texts, mlm_prob, seed)}.safetensors"
            if path.is_file():
                self._load(path)
                return
        self.states, self.offsets, self.ids = self._encode(self.texts, batch_size, None, progress)
        if self.masked_texts:
            g = torch.Generator().manual_seed(seed)
            self.m_states, self.m_offsets, self.m_labels = self._encode(self.masked_texts, batch_size, (g, mlm_prob), progress)
        if path is not None and save:
            self._save(path)

    def _save(self, path: Path) -> None:
        """Write the cached tensors (safetensors, atomically) for later runs."""
        import os

        from safetensors.torch import save_file

        t = {"states": self.states, "offsets": self.offsets, "ids": self.ids}
        if self.m_states is not None:
            t.update(m_states=self.m_states, m_offsets=self.m_offsets, m_labels=self.m_labels)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        save_file({k: v.contiguous() for k, v in t.items()}, str(tmp))
        os.replace(tmp, path)

    def _load(self, path: Path) -> None:
        from safetensors.torch import load_file

        t = load_file(str(path))
        self.states, self.offsets, self.ids = t["states"], t["offsets"], t["ids"]
        if "m_states" in t:
            self.m_states, self.m_offsets, self.m_labels = t["m_states"], t["m_offsets"], t["m_labels"]

    @torch.no_grad()
    def _encode(self, texts, batch_size, masking, progress):
        from tqdm import tqdm

        tok = self.model.tokenizer
        states, lengths, extra = [None] * len(texts), [0] * len(texts), [None] * len(texts)
        specials = [i for i in (tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.bos_token_id,
                                tok.eos_token_id, tok.unk_token_id) if i is not None]
        # batches of similar length waste little on padding; results go back to text order
        order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
        for start in tqdm(range(0, len(texts), batch_size), desc="text features", disable=not progress, leave=False):
            rows = order[start:start + batch_size]
            enc = self.model.tokenize([texts[i] for i in rows])
            ids, mask = enc["input_ids"], enc["attention_mask"]
            if masking is not None:
                g, prob = masking
                masked, labels = mask_tokens(ids, mask, tok.mask_token_id, len(tok), specials, prob, g)
                ids = masked
            h = self.model.text_states(ids.to(self.device), mask.to(self.device)).float().cpu()
            for k, row in enumerate(rows):
                n = int(mask[k].sum())
                states[row] = h[k, :n].half()
                lengths[row] = n
                extra[row] = labels[k, :n] if masking is not None else ids[k, :n]
        offsets = torch.tensor([0] + lengths).cumsum(0)
        return torch.cat(states), offsets, torch.cat(extra)

    @staticmethod
    def _pad(states, offsets, rows, device, values=None, fill=0):
        lens = [int(offsets[r + 1] - offsets[r]) for r in rows]
        L = max(lens)
        out = torch.zeros(len(rows), L, states.shape[1], dtype=torch.float32)
        mask = torch.zeros(len(rows), L, dtype=torch.long)
        vals = torch.full((len(rows), L), fill, dtype=torch.long) if values is not None else None
        for k, (r, n) in enumerate(zip(rows, lens)):
            a = int(offsets[r])
            out[k, :n] = states[a:a + n].float()
            mask[k, :n] = 1
            if vals is not None:
                vals[k, :n] = values[a:a + n]
        return out.to(device), mask.to(device), (vals.to(device) if vals is not None else None)

    def text_batch(self, texts: Sequence[str], device="cpu"):
        """(states (B, L, Dt), attention mask) of cached texts."""
        s, m, _ = self._pad(self.states, self.offsets, [self.index[t] for t in texts], device)
        return s, m

    def masked_batch(self, texts: Sequence[str], device="cpu"):
        """(states, attention mask, MLM labels with -100 where not masked) of cached masked texts."""
        return self._pad(self.m_states, self.m_offsets, [self.masked_index[t] for t in texts], device,
                         values=self.m_labels, fill=IGNORE)
