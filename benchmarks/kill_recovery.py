"""Kill the nightly run at random moments and check that a plain rerun recovers.

    .venv/bin/python benchmarks/kill_recovery.py [--kills 20] [--scale 0.05] [--seed 1] [--out DIR]

Generates the demo business, runs the nightly job once uninterrupted (the reference), then,
for each kill: starts ``roi run`` on a fresh warehouse, sends it SIGKILL after a random delay
(anywhere from its start to the reference run's duration, so every step is hit), and reruns
``roi run`` with nothing cleaned up by hand. A kill is recovered when the rerun succeeds, its
marts equal the reference's (``compare_warehouses``, relative tolerance ``TOLERANCE``:
DuckDB's threaded float sums differ in the last digits between any two runs), ``marts.runs``
holds only runs that published, and no process of the killed run (dbt) is left. Prints one
line per kill (the step it hit) and the totals that docs/reliability.md quotes.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_warehouses import compare_table  # noqa: E402

ROI = str(Path(sys.executable).with_name("roi"))
SALT = "roi-ledger-demo-salt-not-secret"
TOLERANCE = 1e-6
# Published tables whose rows describe the run itself, not its results.
RUN_TABLES = {"runs"}


@dataclass(frozen=True)
class Kill:
    delay: float
    step: str  # the last step the killed run had started
    recovered: bool
    problems: tuple[str, ...]


def roi_run(data: Path, config: Path, warehouse: Path, as_of: str) -> subprocess.Popen:
    """``roi run`` in its own process; what it prints goes to ``<warehouse>.roi.out``."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with warehouse.with_name(f"{warehouse.name}.roi.out").open("a") as out:
        return subprocess.Popen(
            [ROI, "run", "--data", str(data), "--config", str(config), "--warehouse", str(warehouse), "--as-of", as_of],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ROI_PSEUDONYM_SALT": os.environ.get("ROI_PSEUDONYM_SALT", SALT)},
        )


def last_step(log: Path) -> str:
    """The step of the last line Dagster logged (``time - dagster - LEVEL - job - run - step - ...``)."""
    steps = [
        parts[5]
        for line in log.read_text(errors="replace").splitlines()
        if len(parts := line.split(" - ")) > 6 and parts[1] == "dagster"
    ]
    return steps[-1] if steps else "(before the first step)"


def processes_of(build_file: Path) -> list[int]:
    """Processes whose environment names this build file (dbt started for it)."""
    mine = f"ROI_BUILD_WAREHOUSE={build_file}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if mine in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def marts_differences(reference: Path, warehouse: Path) -> list[str]:
    problems = []
    with duckdb.connect(str(reference), read_only=True) as old, duckdb.connect(str(warehouse), read_only=True) as new:
        names = {
            n
            for (n,) in old.sql(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        for name in sorted(names - RUN_TABLES):
            before, after = old.sql(f"select * from marts.{name}").pl(), new.sql(f"select * from marts.{name}").pl()
            problems += [f"{name}: {p}" for p in compare_table(before, after, TOLERANCE)]
        runs = new.sql("select run_id from marts.runs").fetchall()
    if not 1 <= len(runs) <= 2:  # the rerun, and the killed run if it was killed after publishing
        problems.append(f"marts.runs has {len(runs)} rows")
    return problems


def kill_and_recover(data: Path, config: Path, warehouse: Path, as_of: str, delay: float, reference: Path) -> Kill:
    run = roi_run(data, config, warehouse, as_of)
    time.sleep(delay)
    run.send_signal(signal.SIGKILL)
    run.wait()
    log = warehouse.with_name(f"{warehouse.name}.run.log")
    step = last_step(log) if log.exists() else "(before the log)"
    build = warehouse.with_name(f".{warehouse.name}.build")
    time.sleep(1)  # dbt gets SIGTERM when its parent dies; give it a moment to go
    problems = [f"process {pid} of the killed run still running" for pid in processes_of(build)]
    rerun = roi_run(data, config, warehouse, as_of)
    if rerun.wait() != 0:
        return Kill(delay, step, False, (*problems, f"the rerun failed (see {warehouse}.roi.out and {log})"))
    problems += marts_differences(reference, warehouse)
    return Kill(delay, step, not problems, tuple(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1, help="draws the kill moments")
    parser.add_argument("--out", type=Path, default=None, help="folder to keep (default: a temporary one)")
    args = parser.parse_args(argv)
    from roi_ledger.demo import generate_demo_business

    root = args.out or Path(tempfile.mkdtemp(prefix="kill_recovery_"))
    business = generate_demo_business(root / "demo", seed=7, scale=args.scale)
    as_of = business.as_of.isoformat()
    reference = root / "reference.duckdb"
    started = time.monotonic()
    if roi_run(business.data_dir, business.config_path, reference, as_of).wait() != 0:
        sys.exit(f"the reference run failed: see {reference}.run.log")
    duration = time.monotonic() - started
    print(f"reference run: {duration:.0f} s; killing {args.kills} runs at random moments in [0, {duration:.0f}] s")
    rng = random.Random(args.seed)
    kills = []
    for number in range(1, args.kills + 1):
        delay = rng.uniform(0.5, duration)
        kill = kill_and_recover(
            business.data_dir, business.config_path, root / f"killed_{number}.duckdb", as_of, delay, reference
        )
        kills.append(kill)
        print(
            f"kill {number:2d} at {delay:5.1f} s in {kill.step}: "
            f"{'recovered' if kill.recovered else 'NOT recovered: ' + '; '.join(kill.problems)}"
        )
    steps = sorted({k.step for k in kills})
    recovered = sum(k.recovered for k in kills)
    print(f"\n{recovered} of {len(kills)} kills recovered with equal marts; steps hit: {', '.join(steps)}")
    return 0 if recovered == len(kills) else 1


if __name__ == "__main__":
    sys.exit(main())
