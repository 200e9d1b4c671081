"""A few seconds of in-process memory for rows every message reads (the clinic's
messaging settings, the managers' templates), so planning and sending a message doesn't
cost a query for each. Saving such a row forgets it in the saving process at once (see
apps.py); other processes see the change within CACHE_SECONDS."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

CACHE_SECONDS = 10.0
T = TypeVar("T")

_lock = threading.Lock()
_values: dict[str, tuple[float, object]] = {}


def shortly_cached(key: str, load: Callable[[], T]) -> T:
    now = time.monotonic()
    with _lock:
        hit = _values.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]  # type: ignore[return-value]
    value = load()
    with _lock:
        _values[key] = (now, value)
    return value


def forget(*_args, **_kwargs) -> None:
    with _lock:
        _values.clear()
