"""Semantic input: per-pixel object categories -> grid histogram -> embedded cells.

The env's ``semantic_category`` observation gives each pixel an index of the fixed list
``envs.sensors.SEMANTIC_CATEGORIES`` (0 = nothing hit). ``category_histogram`` turns a
batch of such maps into the fraction of each cell's pixels per category on a
``grid`` x ``grid`` layout: parameter-free, so the collector stores (and the feature
cache keeps) it like frozen depth features. ``SemanticEncoder`` embeds each cell's
histogram (the histogram-weighted mean of learned category embeddings) and pools the
cells into one vector.
"""
from __future__ import annotations

import torch
from torch import nn


def category_histogram(categories: torch.Tensor, num_categories: int, grid: int) -> torch.Tensor:
    """(B,H,W) category indices -> (B, grid*grid, num_categories) per-cell category fractions.

    Pixel (y, x) falls in cell ``(y * grid // H, x * grid // W)`` (row-major cell order);
    indices outside ``[0, num_categories)`` count as category 0.
    """
    if categories.dim() == 4 and categories.shape[-1] == 1:
        categories = categories[..., 0]
    if categories.dim() != 3:
        raise ValueError(f"semantic_category batch has shape {tuple(categories.shape)}; expected (B, H, W)")
    B, H, W = categories.shape
    dev = categories.device
    cat = categories.long()
    cat = torch.where((cat >= 0) & (cat < num_categories), cat, torch.zeros_like(cat))
    rows = torch.arange(H, device=dev) * grid // H
    cols = torch.arange(W, device=dev) * grid // W
    cell = (rows[:, None] * grid + cols[None, :]).view(1, H, W)
    n_cells = grid * grid
    idx = (torch.arange(B, device=dev).view(B, 1, 1) * n_cells + cell) * num_categories + cat
    counts = torch.bincount(idx.reshape(-1), minlength=B * n_cells * num_categories).view(B, n_cells, num_categories)
    per_cell = torch.bincount(cell.reshape(-1), minlength=n_cells).clamp(min=1).view(1, n_cells, 1)
    return counts.float() / per_cell.float()


class SemanticEncoder(nn.Module):
    """Cell histograms (B, G*G, K) -> cell embeddings (B, G*G, E) and a pooled vector (B, output_dim).

    Args:
        num_categories: K, the size of the category list.
        grid: G, cells per side.
        embedding_dim: E, size of a cell embedding.
        output_dim: size of the pooled embedding.
    """

    def __init__(self, num_categories: int, grid: int = 4, embedding_dim: int = 32, output_dim: int = 64):
        super().__init__()
        self.num_categories = int(num_categories)
        self.grid = int(grid)
        self.num_positions = self.grid * self.grid
        self.embedding = nn.Linear(self.num_categories, embedding_dim, bias=False)  # histogram-weighted category embeddings
        self.cell = nn.Sequential(nn.Linear(embedding_dim, embedding_dim), nn.ReLU())
        self.pool = nn.Sequential(nn.Flatten(), nn.Linear(embedding_dim * self.num_positions, output_dim), nn.ReLU())
        self.spatial_dim = int(embedding_dim)
        self.output_dim = int(output_dim)

    def histogram(self, categories: torch.Tensor) -> torch.Tensor:
        """The cacheable input features of a (B,H,W) category batch (see ``category_histogram``)."""
        return category_histogram(categories, self.num_categories, self.grid)

    def forward(self, histogram: torch.Tensor):
        """Return ``(cells (B, G*G, E), pooled (B, output_dim))``."""
        cells = self.cell(self.embedding(histogram.float()))
        return cells, self.pool(cells)
