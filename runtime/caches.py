"""Every process-wide cache in one registry, with one reset.

A module that keeps something for the life of a process (the settings, the database
engine, compiled pathways, the set in force, patients known to exist) asks this module
for a `cachetools` cache by name, or registers a reset hook for what is not a cache (a
pooled engine to dispose, a Celery app to point elsewhere). :func:`reset` clears them all:
tests call it when they change the environment, and nothing else needs to know which
module keeps what.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cachetools import Cache, LRUCache, TTLCache

__all__ = ["lru", "on_reset", "registered", "reset", "ttl"]

_caches: dict[str, Cache[Any, Any]] = {}
_hooks: dict[str, Callable[[], None]] = {}
_lock = threading.RLock()


def _register(name: str, cache: Cache[Any, Any]) -> Cache[Any, Any]:
    with _lock:
        if name in _caches:
            raise ValueError(f"a cache named {name!r} is registered already")
        _caches[name] = cache
    return cache


def lru(name: str, maxsize: int) -> LRUCache[Any, Any]:
    """A registered least-recently-used cache of at most ``maxsize`` entries."""
    cache: LRUCache[Any, Any] = LRUCache(maxsize=maxsize)
    _register(name, cache)
    return cache


def ttl(name: str, maxsize: int, seconds: float) -> TTLCache[Any, Any]:
    """A registered cache whose entries expire ``seconds`` after they were stored."""
    cache: TTLCache[Any, Any] = TTLCache(maxsize=maxsize, ttl=seconds)
    _register(name, cache)
    return cache


def on_reset(name: str, hook: Callable[[], None]) -> None:
    """Run ``hook`` on every :func:`reset`, before the caches are cleared."""
    with _lock:
        _hooks[name] = hook


def registered() -> list[str]:
    """The names of every registered cache and hook."""
    with _lock:
        return sorted([*_caches, *_hooks])


def reset() -> None:
    """Run every hook, then clear every cache (tests, after changing the environment)."""
    with _lock:
        hooks = list(_hooks.values())
        caches = list(_caches.values())
    for hook in hooks:
        hook()
    for cache in caches:
        with _lock:
            cache.clear()
