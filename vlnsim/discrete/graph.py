"""Navigation graph of one scan: viewpoints, edges, graph distances.

A ``NavGraph`` is what a Matterport3DSimulator connectivity file holds, in vlnsim's
world frame (+Y up, metres): viewpoint ids, their *floor* positions, the camera height
above the floor, which viewpoints are included, which pairs are mutually visible and
which are connected by an unobstructed straight walk (the edges).

Graph distances are what the R2R evaluation uses: edge weight = Euclidean distance
between the two viewpoints' positions, shortest paths by Dijkstra over those weights
(equal to R2R's Floyd-Warshall / ``networkx.all_pairs_dijkstra_path_length``).
Viewpoints not ``included`` take no part in the graph (as Matterport's loaders skip them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Sequence

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from ..errors import ConfigError


@dataclass
class NavGraph:
    """Viewpoints and edges of one scan.

    Attributes:
        scan: scan name (vlnsim: the house's name, e.g. ``house_00000``).
        ids: (N,) viewpoint ids (``image_id``), 32 hex characters as Matterport's.
        positions: (N, 3) float64 floor positions [x, y, z] (y = floor height).
        camera_height: (N,) float64 camera height above the floor (m).
        edges: (N, N) bool symmetric adjacency (``unobstructed``).
        visible: (N, N) bool symmetric line of sight between cameras (``visible``).
        included: (N,) bool viewpoints taking part in the graph.
    """

    scan: str
    ids: List[str]
    positions: np.ndarray
    camera_height: np.ndarray
    edges: np.ndarray
    visible: np.ndarray
    included: np.ndarray
    _cache: Dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.ids)
        self.positions = np.asarray(self.positions, dtype=np.float64).reshape(n, 3)
        self.camera_height = np.asarray(self.camera_height, dtype=np.float64).reshape(n)
        self.edges = np.asarray(self.edges, dtype=bool).reshape(n, n)
        self.visible = np.asarray(self.visible, dtype=bool).reshape(n, n)
        self.included = np.asarray(self.included, dtype=bool).reshape(n)
        if len(set(self.ids)) != n:
            raise ConfigError(f"scan {self.scan!r}: viewpoint ids are not unique")
        if not np.array_equal(self.edges, self.edges.T):
            raise ConfigError(f"scan {self.scan!r}: edges must be symmetric (unobstructed[i][j] == unobstructed[j][i])")
        self.index = {v: i for i, v in enumerate(self.ids)}

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.ids)

    @property
    def camera_positions(self) -> np.ndarray:
        """(N, 3) camera positions (floor + camera height along +Y)."""
        return self.positions + np.stack([np.zeros(len(self)), self.camera_height, np.zeros(len(self))], axis=1)

    def idx(self, viewpoint: str) -> int:
        """Index of a viewpoint id (``ConfigError`` naming the scan when unknown)."""
        try:
            return self.index[viewpoint]
        except KeyError:
            raise ConfigError(f"viewpoint {viewpoint!r} is not in scan {self.scan!r}") from None

    def position(self, viewpoint: str) -> np.ndarray:
        """Floor position [x, y, z] of a viewpoint id."""
        return self.positions[self.idx(viewpoint)].copy()

    def active_edges(self) -> np.ndarray:
        """Adjacency restricted to included viewpoints."""
        inc = self.included
        return self.edges & inc[:, None] & inc[None, :] & ~np.eye(len(self), dtype=bool)

    def neighbors(self, viewpoint: str) -> List[str]:
        """Ids of the viewpoints adjacent to ``viewpoint``, in index order."""
        i = self.idx(viewpoint)
        return [self.ids[j] for j in np.flatnonzero(self.active_edges()[i])]

    def edge_list(self) -> np.ndarray:
        """(E, 2) index pairs i < j of the undirected edges."""
        i, j = np.nonzero(np.triu(self.active_edges(), 1))
        return np.stack([i, j], axis=1)

    def edge_lengths(self) -> np.ndarray:
        """(E,) Euclidean lengths of ``edge_list()``."""
        e = self.edge_list()
        return np.linalg.norm(self.positions[e[:, 0]] - self.positions[e[:, 1]], axis=1)

    def degrees(self) -> np.ndarray:
        """(N,) number of neighbours of each viewpoint (0 for excluded ones)."""
        return self.active_edges().sum(axis=1)

    def components(self) -> np.ndarray:
        """(N,) connected-component label of each viewpoint (-1 for excluded ones)."""
        n, labels = csgraph.connected_components(sparse.csr_matrix(self.active_edges()), directed=False)
        labels = labels.astype(np.int64)
        # relabel included components 0.. in order of first appearance
        out = np.full(len(self), -1, dtype=np.int64)
        seen: Dict[int, int] = {}
        for i in np.flatnonzero(self.included):
            out[i] = seen.setdefault(int(labels[i]), len(seen))
        return out

    # ------------------------------------------------------------------ distances
    def _weights(self) -> sparse.csr_matrix:
        a = self.active_edges()
        d = np.linalg.norm(self.positions[:, None, :] - self.positions[None, :, :], axis=-1)
        return sparse.csr_matrix(np.where(a, np.maximum(d, 1e-9), 0.0))

    @property
    def distances(self) -> np.ndarray:
        """(N, N) shortest-path distances along the graph (m); inf between components."""
        if "dist" not in self._cache:
            dist, pred = csgraph.dijkstra(self._weights(), directed=False, return_predecessors=True)
            self._cache["dist"], self._cache["pred"] = dist, pred
        return self._cache["dist"]

    def distance(self, a: str, b: str) -> float:
        """Graph distance between two viewpoint ids."""
        return float(self.distances[self.idx(a), self.idx(b)])

    def shortest_path(self, a: str, b: str) -> List[str]:
        """Viewpoint ids of a shortest path from ``a`` to ``b`` (both included); [] if unreachable."""
        ia, ib = self.idx(a), self.idx(b)
        if not np.isfinite(self.distances[ia, ib]):
            return []
        pred = self._cache["pred"]
        chain = [ib]
        while chain[-1] != ia:
            chain.append(int(pred[ia, chain[-1]]))
        return [self.ids[i] for i in reversed(chain)]

    def next_hop(self, a: str, b: str) -> str:
        """The neighbour of ``a`` on a shortest path to ``b`` (``a`` itself when ``a == b`` or unreachable)."""
        path = self.shortest_path(a, b)
        return path[1] if len(path) > 1 else a

    def path_length(self, path: Sequence[str]) -> float:
        """Length of a viewpoint sequence, summing graph distances of consecutive ids (R2R's TL)."""
        idx = [self.idx(v) for v in path]
        return float(sum(self.distances[i, j] for i, j in zip(idx[:-1], idx[1:])))

    def stats(self) -> Dict[str, float]:
        """Viewpoints, edges, mean degree, mean edge length (m), components."""
        lengths = self.edge_lengths()
        inc = self.included
        comps = self.components()
        return {"viewpoints": int(inc.sum()), "edges": int(len(lengths)),
                "mean_degree": float(self.degrees()[inc].mean()) if inc.any() else 0.0,
                "mean_edge_length": float(lengths.mean()) if len(lengths) else 0.0,
                "components": int(comps.max() + 1) if inc.any() else 0}
