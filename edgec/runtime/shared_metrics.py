"""`--workers N`: one scrape of /metrics reports the whole edge, whichever worker answers it.

Each worker slot owns one file in a private directory the supervisor makes (0700, removed at
exit). A worker rewrites its slot's file from the coarse clock at most once a second when its
numbers changed, and again at every scrape it answers; the answer is then its own fresh
numbers plus the other slots' files. Why files and not shared memory: the request path keeps
bumping plain dicts with no lock, system call or mapped-memory write (an mmap-backed counter,
as prometheus_client's multiprocess mode does, costs a write per increment and needs a
layout), a file is replaced whole with rename(2) so a reader never sees half of one, and a
killed worker leaves its last numbers where its replacement finds them. The price is that
another worker's share can be up to a second old in a scrape, which Prometheus' own scrape
interval dwarfs.

Counters never go backwards: a replacement worker starts from its slot's file, and what a
scrape shows of the answering worker is written to that file before the answer leaves.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile

log = logging.getLogger("edgec.runtime")

PUBLISH_EVERY_S = 1.0


def make_directory() -> str | None:
    """The supervisor's directory for one run (mkdtemp: mode 0700, a fresh name under $TMPDIR).
    None when it cannot be made: the workers then serve as before, each counting alone."""
    try:
        return tempfile.mkdtemp(prefix=f"edgec-metrics-{os.getpid()}-")
    except OSError as err:
        log.warning("cannot make a directory for the workers' metrics (%s): each worker reports its own",
                    err.strerror or err)
        return None


def remove_directory(directory: str | None) -> None:
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


class Slot:
    """A worker's place in the directory: its own file, and the files of the other slots."""

    def __init__(self, directory: str, slot: int, workers: int):
        self.directory = directory
        self.slot = slot
        self.workers = workers
        self._warned = False

    def _path(self, slot: int) -> str:
        return os.path.join(self.directory, f"slot-{slot}.json")

    def read(self, slot: int) -> dict | None:
        """What `slot` last published; None before its first publish."""
        try:
            with open(self._path(slot), "rb") as fh:
                return json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            log.warning("metrics of worker slot %d unreadable: %s", slot, err)
            return None

    def last(self) -> dict | None:
        return self.read(self.slot)

    def others(self) -> list[dict]:
        return [snap for s in range(self.workers) if s != self.slot and (snap := self.read(s)) is not None]

    def publish(self, snapshot: dict) -> bool:
        path = self._path(self.slot)
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w") as fh:
                json.dump(snapshot, fh, separators=(",", ":"))
            os.replace(tmp, path)
            return True
        except OSError as err:
            if not self._warned:  # once: a full disk must not fill the log as well
                self._warned = True
                log.warning("cannot publish this worker's metrics to %s: %s", path, err.strerror or err)
            return False
