"""A progress line on a terminal while mitmdump reads saved traffic (`-nr`).

mitmproxy loads a file's flows without returning to the event loop between them, so no timer
runs until the file is read: the line is driven by the flows themselves, and written at most
once a second. It is one line rewritten in place (carriage return, no newline) on standard
error, and only when that is a terminal: a CI log gets nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

INTERVAL = 1.0  # seconds between two writes
CLEAR = "\r\x1b[K"


class Progress:
    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.clock = stream, clock
        self.started = clock()
        self.next = self.started + INTERVAL  # a run shorter than this shows nothing
        self.flows = 0
        self.shown = False

    def tick(self, findings: int) -> None:
        """One more response seen; `findings`: the distinct findings so far."""
        self.flows += 1
        now = self.clock()
        if now < self.next:
            return
        self.next = now + INTERVAL
        rate = self.flows / (now - self.started)
        # The cursor goes back to the start of the line: a log line printed next overwrites it.
        self.stream.write(f"{CLEAR}headeraudit: {self.flows} flows read, {findings} findings ({rate:.0f}/s)\r")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write(CLEAR)
            self.stream.flush()
            self.shown = False


def for_saved_traffic(reading: bool, stream: TextIO) -> Progress | None:
    """A Progress when flows are read from a file and `stream` is a terminal, else None."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # replaced by something that is no file, or closed
        tty = False
    return Progress(stream) if reading and tty else None
