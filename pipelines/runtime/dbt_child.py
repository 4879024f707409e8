"""``roi-dbt``: dbt, as a child that dies with the run that started it.

dagster-dbt starts dbt as a subprocess. When the run's process is killed (``kill -9``, an
out-of-memory kill, a machine shutting down the service), dbt would go on writing to the
abandoned build file, and the next run would find it still busy. So the pipeline starts dbt
through this small launcher: on Linux it asks the kernel to send the process SIGTERM when its
parent dies (``prctl(PR_SET_PDEATHSIG)``, which survives the ``exec``), checks that the parent
is still the run that started it, and then becomes dbt. Elsewhere it is a plain pass-through.
``roi-dbt --version`` answers from the installed packages without starting dbt.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from importlib import metadata
from pathlib import Path

# The run's process id, set by the pipeline before it starts dbt.
PARENT_VAR = "ROI_DBT_PARENT_PID"
# What to become instead of dbt (tests use this to start something harmless).
TARGET_VAR = "ROI_DBT_TARGET"
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    # The signal must reach dbt: a disposition of "ignore" and a blocked mask survive the exec,
    # and the process that starts dbt may have either (Dagster defers signals while a step runs).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        return  # not allowed here (a sandbox): dbt runs, as before, without the guard
    expected = os.environ.get(PARENT_VAR)
    if expected and os.getppid() != int(expected):
        sys.exit("roi-dbt: the run that started dbt has already ended; not starting")


def print_version() -> None:
    """What ``dbt --version`` says first, from the installed packages' metadata. dagster-dbt asks
    for it before every dbt command, and dbt itself answers only after asking PyPI for the
    latest release (seconds, or a timeout on a machine without internet)."""
    plugins = [name for name in ("dbt-duckdb", "dbt-spark") if _installed(name)]
    print(f"Core:\n  - installed: {metadata.version('dbt-core')}\n\nPlugins:")
    for name in plugins:
        print(f"  - {name.removeprefix('dbt-')}: {metadata.version(name)}")


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def main() -> None:
    if sys.argv[1:] == ["--version"] and not os.environ.get(TARGET_VAR):
        print_version()
        return
    die_with_parent()
    target = os.environ.get(TARGET_VAR) or str(Path(sys.executable).with_name("dbt"))
    os.execv(target, [target, *sys.argv[1:]])


if __name__ == "__main__":
    main()
