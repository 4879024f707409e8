"""One run at a time per warehouse.

Every run builds into the same private file beside the published warehouse
(``.<name>.build``) and publishes it by an atomic rename. Two runs at once on one warehouse
would overwrite each other's build file, and the later publish would drop the earlier run's
history rows. So a run takes a lock file beside the warehouse (``.<name>.lock``) before it
starts the build, and releases it when it publishes or fails.

The lock is a file created with ``O_EXCL`` holding who took it (run id, host, process id, start
time). A lock left behind by a run that died without releasing it is taken over when its
holder is clearly gone: the process is no longer alive on this host (the nightly job runs in
one process), Dagster knows the run and it has finished, or the lock is older than
``MAX_AGE``. Otherwise the new run stops with a message naming the holder and the file.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

MAX_AGE = timedelta(hours=6)  # no nightly run of a small business takes this long
# A lock file another run has just created may not hold its holder yet: look again shortly.
ATTEMPTS, RETRY_WAIT_SECONDS = 5, 0.2
# `roi forget` waits its turn behind a running night for this long (its --wait), looking every
# POLL_SECONDS: a small business's night takes minutes; one still running after an hour is stuck.
FORGET_WAIT_SECONDS, POLL_SECONDS = 3600.0, 1.0


class WarehouseBusy(RuntimeError):
    """Another run is building this warehouse."""


@dataclass(frozen=True)
class Holder:
    run_id: str
    host: str
    pid: int
    started_at: str  # ISO 8601, UTC

    def age(self, now: datetime) -> timedelta:
        return now - datetime.fromisoformat(self.started_at)

    def describe(self) -> str:
        return f"run {self.run_id} (process {self.pid} on {self.host}, started {self.started_at})"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


@dataclass(frozen=True)
class RunLock:
    path: Path

    def holder(self) -> Holder | None:
        """Who holds the lock, or None if nobody does (or the file is unreadable)."""
        try:
            return Holder(**json.loads(self.path.read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def live_holder(self) -> Holder | None:
        """The holder, if a run that is still alive holds the lock (a look, not a promise: the
        run itself takes the lock with ``acquire``)."""
        holder = self.holder()
        return holder if holder is not None and not self._stale(holder, lambda _: False) else None

    def busy_message(self, holder: Holder) -> str:
        return (
            f"another run is building this warehouse: {holder.describe()} holds {self.path}. "
            "This run stops so the two do not overwrite each other; if that run is dead, "
            "delete the file."
        )

    def acquire(self, run_id: str, run_finished: Callable[[str], bool] = lambda _: False) -> Holder | None:
        """Take the lock for ``run_id``; return the stale holder taken over, if any.

        ``run_finished(run_id)`` says whether another run is known to have finished (Dagster's
        run status). Raises ``WarehouseBusy`` while another live run holds the lock.
        """
        taken_over = None
        for _ in range(ATTEMPTS):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self.holder()
                if holder is not None and holder.run_id == run_id:
                    return None  # this run already holds it (a re-executed step)
                if holder is not None and not self._stale(holder, run_finished):
                    raise WarehouseBusy(self.busy_message(holder)) from None
                if holder is None and not self._unreadable_and_old():
                    time.sleep(RETRY_WAIT_SECONDS)  # being written by the run that just created it
                    continue
                taken_over = holder
                self.path.unlink(missing_ok=True)
                continue
            holder = Holder(run_id, socket.gethostname(), os.getpid(), datetime.now(UTC).isoformat())
            with os.fdopen(fd, "w") as file:
                json.dump(asdict(holder), file)
            return taken_over
        raise WarehouseBusy(f"could not take the lock {self.path}; another run is starting at the same moment")

    def release(self, run_id: str) -> bool:
        """Remove the lock if ``run_id`` holds it; True if it did."""
        holder = self.holder()
        if holder is None or holder.run_id != run_id:
            return False
        self.path.unlink(missing_ok=True)
        return True

    def _stale(self, holder: Holder, run_finished: Callable[[str], bool]) -> bool:
        if holder.host == socket.gethostname() and not _process_alive(holder.pid):
            return True
        return run_finished(holder.run_id) or holder.age(datetime.now(UTC)) > MAX_AGE

    def _unreadable_and_old(self) -> bool:
        try:
            modified = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
        except FileNotFoundError:
            return True
        return datetime.now(UTC) - modified > timedelta(seconds=10)
