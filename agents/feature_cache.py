"""Per-pose cache of frozen visual features (CLIP RGB features + depth).

With a frozen encoder, what a camera sees at a pose never changes, so the features of
each rendered pose are kept: in memory (bounded, least-recently-used eviction) and
optionally on disk as safetensors shards written atomically, so later epochs, later
DAgger rounds and later runs skip both rendering and encoding on a hit.

Keys are ``namespace|scene_id|x|y|z|yaw|pose`` with the position quantised to
``position_quantum`` metres and the heading to ``yaw_quantum_deg`` degrees (agents only
turn about +Y; the bins keep keys readable and sortable) and ``pose`` a digest of the
exact pose, so a hit returns the features of exactly the pose asked for and the cache's
contents never change what a run trains on (exact resume). The namespace hashes
everything else that changes the features: the sensor specs and the encoder's
architecture and weights.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

Features = Dict[str, np.ndarray]


def yaw_of(rotation: Sequence[float]) -> float:
    """Heading (radians) of a quaternion [x, y, z, w] rotating about +Y."""
    x, y, z, w = (float(v) for v in rotation)
    return math.atan2(2.0 * (w * y + x * z), 1.0 - 2.0 * (y * y + z * z))


def namespace_of(*parts) -> str:
    """A short stable hash of JSON-able parts (sensor specs, encoder identity)."""
    h = hashlib.sha1()
    for p in parts:
        if isinstance(p, (bytes, bytearray)):
            h.update(p)
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


class FeatureCache:
    """Bounded in-memory LRU of pose -> features, with an optional disk store.

    Args:
        max_items: in-memory capacity; the least recently used entries are evicted.
        disk_dir: directory of ``*.safetensors`` shards (None: memory only).
        namespace: hash of the sensor/encoder configuration (see ``namespace_of``).
        position_quantum: metres per position bin of the key.
        yaw_quantum_deg: degrees per heading bin of the key.
        shard_size: entries gathered before a disk shard is written.
    """

    def __init__(self, max_items: int = 100_000, disk_dir: Optional[str] = None, namespace: str = "",
                 position_quantum: float = 0.01, yaw_quantum_deg: float = 1.0, shard_size: int = 2048):
        if max_items < 1:
            from vlnsim.errors import ConfigError

            raise ConfigError(f"FeatureCache.max_items={max_items!r}; expected a positive integer")
        self.max_items = int(max_items)
        self.namespace = namespace
        self.position_quantum = float(position_quantum)
        self.yaw_quantum = math.radians(float(yaw_quantum_deg))
        self.shard_size = int(shard_size)
        self._mem: "OrderedDict[str, Features]" = OrderedDict()
        self._pending: Dict[str, Features] = {}
        self.disk_dir = Path(disk_dir) / namespace if disk_dir else None
        self._disk_index: Dict[str, Tuple[Path, int]] = {}
        self.hits = 0
        self.misses = 0
        if self.disk_dir is not None:
            self.disk_dir.mkdir(parents=True, exist_ok=True)
            self._index_disk()

    # ----- keys -------------------------------------------------------------------------
    def key(self, scene_id: str, position: Sequence[float], rotation: Sequence[float]) -> str:
        """The cache key of an agent pose in a scene: its bins plus a digest of the exact pose.

        Only the very same pose (bit for bit) hits: serving a pose features rendered at
        another pose of its bin would make them depend on which pose filled the bin
        first, i.e. on the cache's history, and a resumed run (empty cache) would then
        train on different features than the uninterrupted one. Agents revisit exact
        poses (same start, same deterministic moves), so hits are not lost.
        """
        pos = np.asarray(position, dtype=np.float64).reshape(-1)
        q = np.round(pos / self.position_quantum).astype(np.int64)
        yaw_bins = int(round(2 * math.pi / self.yaw_quantum))
        b = int(round(yaw_of(rotation) / self.yaw_quantum)) % yaw_bins
        exact = hashlib.sha1(np.concatenate([pos, np.asarray(rotation, dtype=np.float64).reshape(-1)]).tobytes()).hexdigest()[:16]
        return f"{self.namespace}|{scene_id}|{q[0]}|{q[1]}|{q[2]}|{b}|{exact}"

    # ----- lookup -----------------------------------------------------------------------
    def get(self, key: str) -> Optional[Features]:
        """Features of ``key`` (memory first, then disk) or None; counts hits and misses."""
        f = self._mem.get(key)
        if f is not None:
            self._mem.move_to_end(key)
            self.hits += 1
            return f
        f = self._pending.get(key)
        if f is None and key in self._disk_index:
            f = self._read_disk(key)
        if f is None:
            self.misses += 1
            return None
        self._remember(key, f)
        self.hits += 1
        return f

    def put(self, key: str, features: Features) -> None:
        """Store ``features`` (a dict of arrays) under ``key``."""
        features = {k: np.ascontiguousarray(v) for k, v in features.items()}
        self._remember(key, features)
        if self.disk_dir is not None and key not in self._disk_index:
            self._pending[key] = features
            if len(self._pending) >= self.shard_size:
                self.flush()

    def _remember(self, key: str, features: Features) -> None:
        self._mem[key] = features
        self._mem.move_to_end(key)
        while len(self._mem) > self.max_items:
            self._mem.popitem(last=False)

    def __len__(self) -> int:
        return len(self._mem)

    def __contains__(self, key: str) -> bool:
        return key in self._mem or key in self._pending or key in self._disk_index

    @property
    def hit_rate(self) -> float:
        n = self.hits + self.misses
        return self.hits / n if n else 0.0

    # ----- disk -------------------------------------------------------------------------
    def flush(self) -> None:
        """Write pending entries to a new shard (atomic rename)."""
        if self.disk_dir is None or not self._pending:
            return
        from safetensors.numpy import save_file

        keys = list(self._pending)
        names = list(self._pending[keys[0]])
        arrays = {n: np.stack([self._pending[k][n] for k in keys]) for n in names}
        digest = namespace_of(keys)
        path = self.disk_dir / f"shard_{digest}.safetensors"
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        save_file(arrays, str(tmp), metadata={"keys": json.dumps(keys)})
        os.replace(tmp, path)
        for i, k in enumerate(keys):
            self._disk_index[k] = (path, i)
        self._pending.clear()

    def _index_disk(self) -> None:
        from safetensors import safe_open

        for path in sorted(self.disk_dir.glob("shard_*.safetensors")):
            with safe_open(str(path), framework="numpy") as fh:
                for i, k in enumerate(json.loads(fh.metadata()["keys"])):
                    self._disk_index[k] = (path, i)

    def _read_disk(self, key: str) -> Features:
        from safetensors import safe_open

        path, i = self._disk_index[key]
        with safe_open(str(path), framework="numpy") as fh:
            return {n: fh.get_slice(n)[i] for n in fh.keys()}
