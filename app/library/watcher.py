"""Notice GGUF files that appear in, change in, or leave the models folder.

Plain polling of a cheap snapshot (name, size, modification time), so it works the same
everywhere; the GUI calls `poll()` when Qt's file watcher says the folder changed, and on a
slow timer for files that are still being copied in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_Snapshot = dict[str, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class FolderChanges:
    added: tuple[Path, ...] = ()
    removed: tuple[Path, ...] = ()
    changed: tuple[Path, ...] = ()  # e.g. still growing while a copy runs

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def _snapshot(folder: Path) -> _Snapshot:
    found: _Snapshot = {}
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        if path.suffix.lower() != ".gguf":
            continue
        try:
            stat = path.stat()
        except OSError:  # a dangling link: still worth listing (as a problem)
            found[path.name] = (-1, -1)
            continue
        found[path.name] = (stat.st_size, stat.st_mtime_ns)
    return found


class FolderWatcher:
    """Remembers what the folder held at the last poll and reports the difference."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._seen = _snapshot(folder)

    def poll(self) -> FolderChanges:
        now = _snapshot(self.folder)
        before = self._seen
        self._seen = now
        return FolderChanges(
            added=tuple(self.folder / n for n in sorted(now.keys() - before.keys())),
            removed=tuple(self.folder / n for n in sorted(before.keys() - now.keys())),
            changed=tuple(
                self.folder / n for n in sorted(now.keys() & before.keys()) if now[n] != before[n]
            ),
        )
