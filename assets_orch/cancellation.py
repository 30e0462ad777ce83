"""Cancelling a run: the first Ctrl-C or SIGTERM cancels, the second stops waiting.

The CLI's signal handler calls :meth:`Cancellation.signal`. The first call sets the
event: the engine interrupts running queries, waits for them to roll back and records
the run as cancelled. The second call sets ``hurry``: the engine stops waiting for
work that has not wound down (a Python asset that ignores interrupts), records it as
cancelled and ends the run. While a run is being wound down and recorded (inside
:meth:`Cancellation.shielded`) the second signal never raises, so the run is never
left half-recorded; outside of a run there is nothing to wind down, and it raises
KeyboardInterrupt at once.

>>> cancel = Cancellation()
>>> cancel.signal(); cancel.is_set(), cancel.hurry.is_set()
(True, False)
>>> with cancel.shielded():
...     cancel.signal()
>>> cancel.hurry.is_set()
True
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext


class Cancellation(threading.Event):
    """A cancel event that also knows whether the user asked twice (``hurry``)."""

    def __init__(self) -> None:
        super().__init__()
        self.hurry = threading.Event()
        self._shields = 0

    def signal(self) -> None:
        """What a signal handler calls: cancel the first time, hurry the second."""
        if not self.is_set():
            self.set()
            return
        self.hurry.set()
        if not self._shields:
            raise KeyboardInterrupt

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """A second signal inside this block hurries instead of raising."""
        self._shields += 1
        try:
            yield
        finally:
            self._shields -= 1


def hurry_of(cancel: threading.Event) -> threading.Event:
    """The ``hurry`` event of ``cancel`` (a plain event never hurries)."""
    found = getattr(cancel, "hurry", None)
    return found if isinstance(found, threading.Event) else threading.Event()


def shielded(cancel: threading.Event) -> AbstractContextManager[None]:
    """``cancel.shielded()`` when it has one, else a block that changes nothing."""
    if isinstance(cancel, Cancellation):
        return cancel.shielded()
    return nullcontext()
