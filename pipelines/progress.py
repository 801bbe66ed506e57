"""A tiny progress channel: tasks announce stages, the CLI shows them (rich), tests ignore them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

_listeners: list[Callable[[str], None]] = []


def announce(message: str) -> None:
    """Tell every listener that a stage has started."""
    for listener in list(_listeners):
        listener(message)


@contextmanager
def listening(callback: Callable[[str], None]) -> Iterator[None]:
    """Register ``callback`` for announcements within the block."""
    _listeners.append(callback)
    try:
        yield
    finally:
        _listeners.remove(callback)
