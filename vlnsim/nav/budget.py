"""Memory budget of navigation data: estimates, the configured limit, and the up-front refusal.

``memory_budget()`` is the limit (``max_bytes``, else ``$VLNSIM_NAV_MEMORY_GB`` GiB,
else 4 GiB); ``check_memory`` raises ``ResourceLimitError`` with one line naming the
scene, its size, the cell size, the memory needed and a cell size that would fit.
``grid.build_navgrid`` and ``PathFinder``'s graph call it before allocating.
"""
from __future__ import annotations

import math
import os
from typing import Optional, Tuple

from ..errors import ConfigError, ResourceLimitError

# Memory of a build (bench/navgrid.py): about this many bytes per cell at the peak (the
# float64 heights and the distance transform) plus the fixed per-batch buffers.
BUILD_BYTES_PER_CELL = 44
BUILD_FIXED_BYTES = 64 * 2**20
MEMORY_BUDGET_ENV = "VLNSIM_NAV_MEMORY_GB"
DEFAULT_MEMORY_BUDGET_GB = 4.0


def memory_budget(max_bytes: Optional[float] = None) -> int:
    """Bytes a navigation build may use: ``max_bytes``, else ``$VLNSIM_NAV_MEMORY_GB`` GiB, else 4 GiB."""
    if max_bytes is not None:
        return int(max_bytes)
    raw = os.environ.get(MEMORY_BUDGET_ENV)
    if raw is None:
        return int(DEFAULT_MEMORY_BUDGET_GB * 2**30)
    try:
        gb = float(raw)
    except ValueError:
        gb = float("nan")
    if not (math.isfinite(gb) and gb > 0):
        raise ConfigError(f"${MEMORY_BUDGET_ENV}={raw!r}; expected a positive number of GiB")
    return int(gb * 2**30)


def grid_shape(bounds, cell_size: float) -> Tuple[int, int]:
    """(rows along z, columns along x) of a grid over ``bounds`` = (min, max) 3-vectors."""
    lo, hi = bounds
    nx = max(1, int(math.ceil((hi[0] - lo[0]) / cell_size - 1e-9)))
    nz = max(1, int(math.ceil((hi[2] - lo[2]) / cell_size - 1e-9)))
    return nz, nx


def estimate_build_bytes(cells: int) -> int:
    """Peak memory (bytes) building a grid of ``cells`` cells needs (see ``BUILD_BYTES_PER_CELL``)."""
    return int(cells * BUILD_BYTES_PER_CELL + BUILD_FIXED_BYTES)


def check_memory(what: str, scene_name: str, extent: Tuple[float, float], cell_size: float, count: str,
                 needed: int, budget: int, per_unit: float, fixed: int = 0) -> None:
    """Raise ``ResourceLimitError`` naming the scene size, cell size and memory when ``needed > budget``.

    ``fixed``: the part of ``needed`` that does not grow with the number of cells.
    """
    if needed <= budget:
        return
    # the rest grows with the number of cells, i.e. with 1 / cell_size^2
    fit = cell_size * math.sqrt(max(needed - fixed, 1) / max(budget - fixed, 1))
    raise ResourceLimitError(
        f"{what} of scene {scene_name!r} ({extent[0]:.1f} m x {extent[1]:.1f} m) at cell_size {cell_size:g} m "
        f"({count}, ~{per_unit:.0f} B each) needs about {needed / 2**30:.2f} GiB, over the "
        f"{budget / 2**30:.2f} GiB budget; use cell_size >= {math.ceil(fit * 1000) / 1000:g} m or raise "
        f"${MEMORY_BUDGET_ENV}")
