"""The files the rules watcher polls, each with its signature when last read (or tried).

mitmproxy reloads scripts, not our data files. Watched: the files of the active ruleset and,
after a failed reload, those of the failed attempt; a reload is tried only when one of them
changes, so a broken state costs one read and one error line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

# How a file is told to have changed: an edit in place moves mtime (and usually size), an
# editor's save-by-rename or a new file at the path changes the inode. None: the path is missing.
Signature = tuple[int, int, int]  # (st_mtime_ns, st_size, st_ino)


class WatchedFiles:
    def __init__(self) -> None:
        self._signatures: dict[str, Signature | None] = {}

    def changed(self) -> bool:
        return any(signature(path) != seen for path, seen in self._signatures.items())

    def loaded(self, files: Iterable[str], seen: Mapping[str, os.stat_result]) -> None:
        """A ruleset was installed from `files`; `seen`: the loader's stat of each, taken
        before reading it (a file changed since is read again)."""
        self._signatures = {path: signature_of(seen[path]) if path in seen else signature(path) for path in files}

    def failed(self, active: Iterable[str], seen: Mapping[str, os.stat_result], failed: str | None) -> None:
        """A reload failed: watch the active ruleset's files as they are now, and the failed
        attempt's files as they were before it read them: a file it newly named in `extends`
        counts, and so does the file that failed (a FIFO, /dev/zero, a file too large, one that
        does not exist yet)."""
        watched = {path: signature(path) for path in active}
        watched.update((path, signature_of(info)) for path, info in seen.items())
        if failed is not None and failed not in seen:  # its stat failed: watch for it to appear
            watched[failed] = signature(failed)
        self._signatures = watched


def signature(path: str) -> Signature | None:
    try:
        return signature_of(os.stat(path))
    except OSError:
        return None


def signature_of(info: os.stat_result) -> Signature:
    return (info.st_mtime_ns, info.st_size, info.st_ino)
