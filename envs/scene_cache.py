"""An LRU cache of loaded scenes, each with its Simulator (renderer + navigability)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")


class LRUCache(Generic[V]):
    """Keeps the ``capacity`` most recently used values, building misses with ``factory``.

    Evicted values are passed to ``on_evict`` (e.g. to close them) before they are dropped.
    """

    def __init__(self, capacity: int, factory: Callable[[Hashable], V], on_evict: Callable[[V], None] | None = None):
        if capacity < 1:
            raise ValueError(f"LRU capacity={capacity!r}; expected at least 1")
        self.capacity = int(capacity)
        self.factory = factory
        self.on_evict = on_evict
        self._items: "OrderedDict[Hashable, V]" = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V:
        """The value for ``key``, building and caching it on a miss."""
        if key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key]
        self.misses += 1
        value = self.factory(key)
        self._items[key] = value
        while len(self._items) > self.capacity:
            _, old = self._items.popitem(last=False)
            if self.on_evict is not None:
                self.on_evict(old)
        return value

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def keys(self):
        """Cached keys, least recently used first."""
        return list(self._items)

    def clear(self) -> None:
        """Drop everything (calling ``on_evict`` on each value)."""
        while self._items:
            _, old = self._items.popitem(last=False)
            if self.on_evict is not None:
                self.on_evict(old)
