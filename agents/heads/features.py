"""Encoder features for the heads, computed once when the towers are frozen.

Fine-tuning on a CPU is only affordable with the vision and text towers frozen: their
outputs are computed once per image / per distinct text and the heads, the ITC
projections and the fusion encoder train on the cached states. ``TowerCache`` holds those
states; ``image_outputs`` / ``text_outputs`` rebuild ``ImageOutput`` / ``TextOutput``
batches from them through the model's own projection layers (so gradients reach the
projections and the fusion encoder). With ``frozen=False`` the towers run on every batch.

``vision_trainable_layers=k`` keeps the text tower and the lower vision layers frozen
but fine-tunes the top ``k`` vision layers (and the final layer norm): the cache then
holds the hidden states *below* those layers and ``images()`` runs the top ``k`` layers
on every batch (each distinct image once), so the task loss reaches the image tokens
at a fraction of the cost of a trainable tower.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from vlnsim.errors import ConfigError

from agents.vlp import ImageOutput, TextOutput, VLPModel


def load_images(paths: Sequence[Union[str, Path]], size: Optional[int] = None,
                mirrored: Sequence[bool] = ()) -> torch.Tensor:
    """Read image files as a uint8 (N, H, W, 3) tensor (resized to ``size`` when given;
    image ``i`` flipped left-right where ``mirrored[i]``). A path listed twice is read once."""
    from PIL import Image

    decoded: Dict[str, np.ndarray] = {}
    arrays = []
    for i, p in enumerate(paths):
        key = str(p)
        if key not in decoded:
            with Image.open(p) as im:
                im = im.convert("RGB")
                if size is not None and im.size != (size, size):
                    im = im.resize((size, size), Image.BILINEAR)
                decoded[key] = np.asarray(im, dtype=np.uint8)
        a = decoded[key]
        arrays.append(np.ascontiguousarray(a[:, ::-1]) if len(mirrored) and mirrored[i] else a)
    if not arrays:
        return torch.zeros((0, size or 1, size or 1, 3), dtype=torch.uint8)
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"images have different sizes {sorted(shapes)[:3]}; pass size= to resize them")
    return torch.from_numpy(np.stack(arrays))


def image_output(model: VLPModel, tokens: torch.Tensor, pooled: torch.Tensor) -> ImageOutput:
    """ImageOutput from cached vision-tower states (ITC embedding through the model's projection)."""
    builder = getattr(model, "image_output", None)
    if builder is not None:
        return builder(tokens, pooled)
    embeds = F.normalize(model.image_proj(pooled).float(), dim=-1)
    return ImageOutput(embeds=embeds, pooled=pooled, tokens=tokens)


class VisionSplit:
    """The vision tower cut below its top ``k`` layers: ``bottom`` (frozen) and ``top`` (trainable).

    ``top(bottom(pixels))`` equals ``model.encode_image(pixels)``'s (tokens, pooled).
    Supports ``CLIPVisionModel`` (with or without the ``vision_model`` wrapper) and ``ViTModel``.
    """

    def __init__(self, model: VLPModel, k: int):
        tower = model.vision
        vm = getattr(tower, "vision_model", tower)
        if hasattr(vm, "post_layernorm"):  # CLIP: embeddings -> pre-LN -> layers; LN on the outputs
            self.kind, self.layers = "clip", list(vm.encoder.layers)
            self.final_norm = vm.post_layernorm
        elif hasattr(vm, "layernorm") and hasattr(vm.encoder, "layer"):  # ViT: layers -> LN
            self.kind, self.layers = "vit", list(vm.encoder.layer)
            self.final_norm = vm.layernorm
        else:
            raise ConfigError(f"vision_trainable_layers={k}: the vision tower {type(tower).__name__} is neither "
                              "a CLIPVisionModel nor a ViTModel; expected 0 (frozen tower)")
        if not 0 <= k <= len(self.layers):
            raise ConfigError(f"vision_trainable_layers={k}; expected 0..{len(self.layers)} (the tower's layer count)")
        self.model, self.vm, self.k = model, vm, int(k)
        self.cut = len(self.layers) - self.k

    def modules(self) -> List[torch.nn.Module]:
        """The trainable part: the top ``k`` layers and the final layer norm (none when k = 0)."""
        return self.layers[self.cut:] + [self.final_norm] if self.k else []

    @staticmethod
    def _run(layer, h: torch.Tensor) -> torch.Tensor:
        try:
            out = layer(h, None)
        except TypeError:  # transformers 4's CLIP layer also takes a causal mask
            out = layer(h, None, None)
        return out[0] if isinstance(out, tuple) else out

    def bottom(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images or pixels -> (B, 1+P, Dv) hidden states entering the top ``k`` layers."""
        pixels = self.model.preprocess(images) if images.dtype == torch.uint8 else images
        h = self.vm.embeddings(pixels)
        if self.kind == "clip":
            h = self.vm.pre_layrnorm(h)
        for layer in self.layers[: self.cut]:
            h = self._run(layer, h)
        return h

    def top(self, hidden: torch.Tensor):
        """Hidden states from ``bottom`` -> (tokens, pooled) as ``encode_image`` returns them."""
        for layer in self.layers[self.cut:]:
            hidden = self._run(layer, hidden)
        tokens = self.final_norm(hidden)
        return tokens, tokens[:, 0]


class TowerCache:
    """Frozen-tower states of a set of images and texts, computed in batches without grad.

    Args:
        model: the encoder stack.
        images: uint8 (N, H, W, 3) images (index = image index).
        texts: texts (index = text index); repeated strings are encoded once.
        batch_size: tower batch size.
        vision_trainable_layers: cache the vision states below the top ``k`` layers; those
            layers then run in ``images()`` (with grad). 0 = cache the tower's outputs.
    """

    def __init__(self, model: VLPModel, images: torch.Tensor, texts: Sequence[str], batch_size: int = 64,
                 progress: bool = False, vision_trainable_layers: int = 0):
        self.model = model
        self.split = VisionSplit(model, vision_trainable_layers) if vision_trainable_layers else None
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        pooled, tokens = [], []
        with torch.no_grad():
            for s in _batches(len(images), batch_size, progress, "images"):
                if self.split is not None:
                    tokens.append(self.split.bottom(images[s].to(device)).cpu())
                    continue
                out = model.encode_image(images[s].to(device))
                pooled.append(out.pooled.cpu())
                tokens.append(out.tokens.cpu())
            self.image_pooled = torch.cat(pooled) if pooled else torch.zeros(0)
            # with a split: the hidden states entering the top layers, else the tower's tokens
            self.image_tokens = torch.cat(tokens) if tokens else torch.zeros(0)
            unique: Dict[str, int] = {}
            self.text_index = np.array([unique.setdefault(t, len(unique)) for t in texts], dtype=np.int64)
            self.unique_texts: List[str] = list(unique)
            self.text_states: List[torch.Tensor] = []
            for s in _batches(len(self.unique_texts), batch_size, progress, "texts"):
                batch = model.tokenize(self.unique_texts[s], device=device)
                states = model.text_states(batch["input_ids"], batch["attention_mask"]).cpu()
                for row, n in zip(states, batch["attention_mask"].sum(1).tolist()):
                    self.text_states.append(row[:n].clone())
        model.train(was_training)

    def images(self, idx: Sequence[int], device=None) -> ImageOutput:
        """ImageOutput of images ``idx`` (projections applied now, with grad)."""
        idx = torch.as_tensor(idx, dtype=torch.long)
        if self.split is not None:  # top layers once per distinct image, then gathered per row
            uniq, inverse = torch.unique(idx, return_inverse=True)
            tokens, pooled = self.split.top(self.image_tokens[uniq].to(device))
            inverse = inverse.to(tokens.device)
            return image_output(self.model, tokens[inverse], pooled[inverse])
        return image_output(self.model, self.image_tokens[idx].to(device), self.image_pooled[idx].to(device))

    def texts(self, idx: Sequence[int], device=None) -> TextOutput:
        """TextOutput of texts ``idx`` (padded to the longest; projections applied now)."""
        rows = [self.text_states[int(self.text_index[i])] for i in idx]
        L = max(r.shape[0] for r in rows)
        tokens = torch.zeros(len(rows), L, rows[0].shape[1])
        mask = torch.zeros(len(rows), L, dtype=torch.long)
        for k, r in enumerate(rows):
            tokens[k, : r.shape[0]] = r
            mask[k, : r.shape[0]] = 1
        return self.model.text_output(tokens.to(device), mask.to(device))


class LiveFeatures:
    """The same interface as ``TowerCache`` but running the towers on every call (trainable towers)."""

    def __init__(self, model: VLPModel, images: torch.Tensor, texts: Sequence[str]):
        self.model = model
        self._images = images
        self._texts = list(texts)

    def images(self, idx: Sequence[int], device=None) -> ImageOutput:
        return self.model.encode_image(self._images[torch.as_tensor(idx, dtype=torch.long)].to(device))

    def texts(self, idx: Sequence[int], device=None) -> TextOutput:
        return self.model.encode_text(self.model.tokenize([self._texts[i] for i in idx], device=device))


def freeze_towers(model: VLPModel, vision_trainable_layers: int = 0) -> None:
    """Stop gradients into the vision and text towers (the rest stays trainable), except
    the top ``vision_trainable_layers`` vision layers and the tower's final layer norm."""
    model.vision.requires_grad_(False)
    model.text.requires_grad_(False)
    for module in VisionSplit(model, vision_trainable_layers).modules() if vision_trainable_layers else []:
        module.requires_grad_(True)


def _batches(n: int, size: int, progress: bool, what: str):
    starts = range(0, n, size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc=f"encoding {what}", unit="batch", leave=False)
    for s in starts:
        yield slice(s, min(n, s + size))
