"""A small convolutional depth encoder (spatial features + pooled embedding).

VLN-CE uses a ResNet-50 pretrained by DD-PPO on PointNav; none is available offline, so
this is a compact residual CNN trained end to end (or frozen at random init when asked).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _ResidualBlock(nn.Module):
    """Two 3x3 convolutions with a (strided) projection shortcut."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.norm1 = nn.GroupNorm(max(1, cout // 8), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm2 = nn.GroupNorm(max(1, cout // 8), cout)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class DepthEncoder(nn.Module):
    """Depth (B,H,W,1) metres -> spatial (B, C, h*w) and pooled (B, output_dim) features.

    Args:
        channels: widths of the stem and of each residual stage (each stage halves H, W).
        output_dim: size of the pooled embedding (a linear map of the flattened map).
        input_size: depth is resized to this square size first (fixes the spatial grid).
        max_depth: metres mapped to 1.0 (depth is clipped to [0, max_depth]).
        trainable: False freezes the convolutional trunk (random features, cacheable per
            pose like frozen CLIP features); the pooling layer always trains.
    """

    def __init__(self, channels=(16, 32, 32), output_dim: int = 128, input_size: int = 64,
                 max_depth: float = 10.0, trainable: bool = True):
        super().__init__()
        self.input_size = int(input_size)
        self.max_depth = float(max_depth)
        self.stem = nn.Sequential(nn.Conv2d(1, channels[0], 5, stride=2, padding=2), nn.ReLU())
        stages = []
        for cin, cout in zip(channels[:-1], channels[1:]):
            stages.append(_ResidualBlock(cin, cout, stride=2))
        self.stages = nn.Sequential(*stages)
        grid = self.input_size // (2 ** len(channels))
        self.grid = max(1, grid)
        self.spatial_dim = channels[-1]
        self.num_positions = self.grid * self.grid
        self.pool = nn.Sequential(nn.Flatten(), nn.Linear(self.spatial_dim * self.num_positions, output_dim), nn.ReLU())
        self.output_dim = output_dim
        self.trainable = bool(trainable)
        if not self.trainable:
            self.stem.requires_grad_(False)
            self.stages.requires_grad_(False)

    def forward(self, depth: torch.Tensor):
        """Return ``(spatial (B, C, h*w), pooled (B, output_dim))``."""
        spatial = self.spatial_features(depth)
        return spatial, self.pool_features(spatial)

    def pool_features(self, spatial: torch.Tensor) -> torch.Tensor:
        """Pooled embedding (B, output_dim) of trunk features (B, C, h*w)."""
        return self.pool(spatial)

    def spatial_features(self, depth: torch.Tensor) -> torch.Tensor:
        """Trunk features (B, C, h*w) of depth (B,H,W,1) in metres."""
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            return self._trunk(depth)

    def _trunk(self, depth: torch.Tensor) -> torch.Tensor:
        if depth.dim() == 3:
            depth = depth.unsqueeze(-1)
        x = depth.permute(0, 3, 1, 2).float().clamp(0.0, self.max_depth) / self.max_depth
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        x = self.stages(self.stem(x))
        if x.shape[-1] != self.grid:
            x = F.adaptive_avg_pool2d(x, self.grid)
        return x.flatten(2)
