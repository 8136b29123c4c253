"""The progress line's timing and clearing (the terminal itself: tests/e2e/test_e2e_ci_output.py)."""

from __future__ import annotations

import io

from headeraudit.mitm.progress import CLEAR, Progress, for_saved_traffic


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_written_at_most_once_a_second_and_cleared_at_the_end():
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, clock)
    for _ in range(500):  # within the first second: a short run shows nothing
        clock.now += 0.001
        progress.tick(3)
    assert stream.getvalue() == ""
    clock.now = 101.0
    progress.tick(4)
    assert stream.getvalue() == f"{CLEAR}headeraudit: 501 flows read, 4 findings (501/s)\r"
    clock.now = 101.5
    progress.tick(4)
    assert stream.getvalue().count("flows read") == 1
    clock.now = 102.0
    progress.tick(5)
    assert stream.getvalue().count("flows read") == 2
    progress.clear()
    assert stream.getvalue().endswith(f"(252/s)\r{CLEAR}")
    progress.clear()  # once
    assert stream.getvalue().count(CLEAR) == 3


def test_a_run_that_showed_nothing_clears_nothing():
    stream = io.StringIO()
    progress = Progress(stream, Clock())
    progress.tick(0)
    progress.clear()
    assert stream.getvalue() == ""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file")  # as a closed file's isatty
        return True


def test_only_for_saved_traffic_on_a_terminal():
    assert for_saved_traffic(True, io.StringIO()) is None  # a pipe or a CI log
    assert for_saved_traffic(False, Terminal()) is None  # live traffic
    assert isinstance(for_saved_traffic(True, Terminal()), Progress)
    closed = Terminal()
    closed.close()
    assert for_saved_traffic(True, closed) is None
