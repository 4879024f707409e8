"""Scale benchmark: the nightly run on S, M and L businesses, against what DuckDB alone needs.

Each business is generated in the data contract by DuckDB itself (one CSV per dataset and year,
in seconds even at L: no Python loop), with a register of four initiatives on half the units.
Then, each timed whole as a user runs it (``roi run`` in a child process):

- **floor**: one DuckDB query that reads every data file once and computes the weekly
  aggregates per unit and dataset: the least any nightly run must do;
- **full**: the first run, into an empty warehouse;
- **one new day**: a file with one more day of orders, tickets, hours and defects, as of that day;
- **nothing new**: the same run again (``roi run`` finds the inputs of the published run and
  leaves it as it is: ``pipelines/runtime/incremental.py``);
- **nothing new, forced**: the same run with ``--force``: the whole pipeline, keeping every
  estimate and claim check whose inputs are unchanged (``roi_ledger/incremental.py``).

For each run: wall time, peak resident memory of the whole process tree (sampled every 0.2 s),
the warehouse's size after it and the most extra disk the run took on the warehouse's filesystem
(so a copy-on-write clone of the warehouse counts only the blocks the run writes), and
the time of every step (from ``roi run``'s progress lines). It prints one table per scale and the
ratios full/floor and one-new-day/full; ``docs/performance.md`` quotes its latest output.

    .venv/bin/python benchmarks/scale.py [--scales S,M,L] [--work DIR] [--keep]

Speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import yaml

ROI = str(Path(sys.executable).with_name("roi"))
SALT = "scale-benchmark-salt-not-secret-0123456789"
START = date(2020, 1, 6)  # a Monday
STEP_LINE = re.compile(r"^\s+done\s+(.+?) \((\d+) s\)$")  # roi run's progress line for a finished step


@dataclass(frozen=True)
class Scale:
    orders: int
    tickets: int
    hours: int
    defects: int
    units: int
    years: int

    @property
    def days(self) -> int:
        return 364 * self.years

    @property
    def as_of(self) -> date:
        return START + timedelta(days=self.days - 1)


SCALES = {
    "S": Scale(orders=100_000, tickets=20_000, hours=20_000, defects=5_000, units=10, years=2),
    "M": Scale(orders=1_000_000, tickets=200_000, hours=200_000, defects=50_000, units=25, years=3),
    "L": Scale(orders=10_000_000, tickets=2_000_000, hours=2_000_000, defects=500_000, units=50, years=5),
}

# Per dataset: its columns as SQL over ``i`` (the row number), ``u`` (the unit number), ``d``
# (the day number) and ``s`` (seconds into the day); ``r(k)`` is a uniform draw in [0, 1)
# from the row number and a salt k, so a business is the same every time it is generated.
DATASETS = {
    "orders": """
        'o' || i as order_id, 'u' || u as unit_id,
        {t} as ordered_at,
        {t} + to_seconds(cast(60 + 7200 * r(1) as bigint)) as fulfilled_at,
        round(5 + 80 * r(2), 2) as amount,
        case when r(3) < 0.03 then 'cancelled' when r(3) < 0.05 then 'refunded' else 'completed' end as status,
        r(4) < (case when u % 2 = 0 and d > {go_live} then 0.04 else 0.06 end) as has_error,
        'c' || cast(floor(50000 * r(5)) as bigint) as customer_id""",
    "tickets": """
        't' || i as ticket_id, 'u' || u as unit_id,
        {t} as opened_at,
        {t} + to_seconds(cast(600 + 20000 * r(1) as bigint)) as first_response_at,
        {t} + to_seconds(cast(600 + 20000 * r(1) as bigint))
            + to_seconds(cast(
                3600 + (case when u % 2 = 0 and d > {go_live} then 150000 else 200000 end) * r(2) as bigint
            )) as resolved_at,
        r(3) < 0.08 as reopened,
        1 + cast(floor(5 * r(4)) as int) as csat""",
    "hours": """
        'h' || i as entry_id, 'u' || u as unit_id,
        'e' || (u * 20 + cast(floor(20 * r(1)) as bigint)) as employee_id,
        cast({t} as date) as work_date,
        case when r(2) < 0.3 then 'admin' when r(2) < 0.5 then 'invoicing' else 'service' end as activity,
        round(0.5 + (case when u % 2 = 0 and d > {go_live} then 5 else 6 end) * r(3), 2) as hours,
        round(15 + 10 * r(4), 2) as hourly_cost""",
    "defects": """
        'f' || i as defect_id, 'u' || u as unit_id,
        {t} as detected_at,
        1 + cast(floor(5 * r(1)) as int) as units_affected,
        round(2 + 30 * r(2), 2) as cost""",
}


def rows_sql(dataset: str, rows: int, scale: Scale, first_day: int, days: int, first_row: int = 0) -> str:
    """``rows`` rows of ``dataset`` spread evenly over ``days`` days from ``first_day``."""
    timestamp = f"(timestamp '{START.isoformat()}' + to_days(d) + to_seconds(s))"
    columns = DATASETS[dataset].format(t=timestamp, go_live=scale.days // 2)
    columns = re.sub(r"r\((\d)\)", r"((hash(i, \1) % 1000003) / 1000003.0)", columns)
    return f"""
        select {columns}
        from (
            select i, i % {scale.units} as u,
                   {first_day} + cast(floor((i - {first_row}) * {days} / {rows}) as bigint) as d,
                   cast(28800 + (hash(i, 9) % 36000) as bigint) as s
            from range({first_row}, {first_row + rows}) as t(i)
        )"""


def generate(data: Path, scale: Scale) -> None:
    """One CSV per dataset and year (``data/<dataset>/<dataset>_<year>.csv``)."""
    with duckdb.connect() as con:
        for dataset in DATASETS:
            folder = data / dataset
            folder.mkdir(parents=True, exist_ok=True)
            rows = getattr(scale, dataset)
            per_year = rows // scale.years
            for year in range(scale.years):
                sql = rows_sql(dataset, per_year, scale, first_day=364 * year, days=364, first_row=year * per_year)
                con.execute(
                    f"copy ({sql}) to '{folder / f'{dataset}_{year + 1}.csv'}' "
                    "(header, timestampformat '%Y-%m-%d %H:%M:%S')"
                )


def add_day(data: Path, scale: Scale) -> date:
    """One more day of every dataset, in its own file; returns the new as-of date."""
    day = scale.days
    with duckdb.connect() as con:
        for dataset in DATASETS:
            rows = max(1, getattr(scale, dataset) // scale.days)
            sql = rows_sql(dataset, rows, scale, first_day=day, days=1, first_row=10**12)
            con.execute(
                f"copy ({sql}) to '{data / dataset / f'{dataset}_day_{day}.csv'}' "
                "(header, timestampformat '%Y-%m-%d %H:%M:%S')"
            )
    return START + timedelta(days=day)


def register(scale: Scale) -> dict:
    treated = [f"u{u}" for u in range(0, scale.units, 2)]
    go_live = (START + timedelta(days=scale.days // 2 + 1)).isoformat()
    initiative = lambda id, metrics, cost: {  # noqa: E731
        "id": id,
        "name": id.replace("_", " ").capitalize(),
        "status": "live",
        "go_live": go_live,
        "treated_units": treated,
        "metrics": metrics,
        "costs": [
            {"kind": "one_off", "amount": cost, "date": go_live},
            {"kind": "monthly", "amount": cost / 20, "start": go_live},
        ],
    }
    return {
        "business": {
            "name": f"Scale {scale.units} units",
            "currency": "EUR",
            "timezone": "Europe/Berlin",
            "loaded_hourly_cost": 25,
            "values": {"cost_per_order_error": 12.0},
        },
        "initiatives": [
            initiative("order_checks", ["order_error_rate"], 5000),
            initiative("ticket_routing", ["ticket_resolution_hours"], 8000),
            initiative("time_tracking", ["hours_service"], 3000),
            initiative("invoice_bot", ["hours_invoicing"], 2000),
        ],
    }


def floor_seconds(data: Path) -> float:
    """One DuckDB query: every file read once, weekly rows and a measure per unit and dataset."""
    parts = {
        "orders": ("ordered_at", "avg(cast(has_error as int))"),
        "tickets": ("opened_at", "avg(epoch(resolved_at) - epoch(opened_at))"),
        "hours": ("work_date", "sum(hours)"),
        "defects": ("detected_at", "sum(units_affected)"),
    }
    union = " union all ".join(
        f"select '{name}' as dataset, unit_id, date_trunc('week', {column}) as week, count(*) as n, "
        f"{measure} as measure "
        f"from read_csv('{data / name}/*.csv') group by all"
        for name, (column, measure) in parts.items()
    )
    started = time.perf_counter()
    with duckdb.connect() as con:
        con.execute(f"create table weekly as {union}")
    return time.perf_counter() - started


@dataclass
class Measured:
    seconds: float
    peak_rss_gb: float
    warehouse_gb: float
    extra_disk_gb: float
    steps: dict[str, float] = field(default_factory=dict)
    step_rss_gb: dict[str, float] = field(default_factory=dict)  # the peak while each step ran


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending += [int(c) for c in children]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def disk_used(folder: Path) -> int:
    """The bytes in use on the filesystem that holds ``folder`` (what a run adds to it is the
    disk it takes: a copy-on-write clone of the warehouse adds nothing until the run writes)."""
    return shutil.disk_usage(folder).used


def settled_disk_used(folder: Path, *, patience: float = 30.0) -> int:
    """:func:`disk_used` once the writes and deletions of whatever ran before are on disk, so they
    are not counted against the run: a filesystem counts space it has reserved for data not yet
    written, and XFS frees a deleted file's blocks in the background, after ``sync`` returns (a
    night measured 2 GB of extra disk on XFS that was the last run's freeing, 0.04 GB when run
    again). Waits until the used bytes hold still for a second, or ``patience`` seconds."""
    deadline, last = time.monotonic() + patience, None
    while True:
        os.sync()
        used = disk_used(folder)
        if used == last or time.monotonic() > deadline:
            return used
        last = used
        time.sleep(1.0)


def filesystem(folder: Path) -> str:
    """The type of the filesystem that holds ``folder`` (from /proc/mounts; '?' elsewhere)."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "?"
    where = str(folder.resolve())
    held = [(point, kind) for point, kind in mounts if where == point or where.startswith(point.rstrip("/") + "/")]
    return max(held, key=lambda mount: len(mount[0]))[1] if held else "?"


def timed_run(data: Path, config: Path, warehouse: Path, as_of: date, *extra: str) -> Measured:
    """``roi run`` as a user starts it, watched from outside."""
    before = settled_disk_used(warehouse.parent)
    peaks = {"rss": 0, "disk": before, "step": 0}
    env = {**os.environ, "ROI_PSEUDONYM_SALT": os.environ.get("ROI_PSEUDONYM_SALT", SALT)}
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            ROI,
            "run",
            "--data",
            str(data),
            "--config",
            str(config),
            "--warehouse",
            str(warehouse),
            "--as-of",
            as_of.isoformat(),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            rss = tree_rss(child.pid)
            peaks["rss"], peaks["step"] = max(peaks["rss"], rss), max(peaks["step"], rss)
            peaks["disk"] = max(peaks["disk"], disk_used(warehouse.parent))
            done.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    # A step's progress line comes when it ends: the peak since the line before is its own.
    lines, step_rss = [], {}
    for line in child.stdout:
        lines.append(line)
        if ended := STEP_LINE.match(line.rstrip("\n")):
            step_rss[ended.group(1)], peaks["step"] = peaks["step"], 0
    child.wait()
    output = "".join(lines)
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    if child.returncode != 0:
        raise SystemExit(f"roi run failed ({child.returncode}):\n{output[-3000:]}")
    steps = {m.group(1): float(m.group(2)) for m in map(STEP_LINE.match, output.splitlines()) if m}
    after = settled_disk_used(warehouse.parent)
    gb = 1024**3
    return Measured(
        seconds,
        peaks["rss"] / gb,
        warehouse.stat().st_size / gb,
        max(0, peaks["disk"] - max(before, after)) / gb,
        steps,
        {step: rss / gb for step, rss in step_rss.items()},
    )


def report(name: str, scale: Scale, floor: float, runs: dict[str, Measured], kind: str) -> None:
    print(
        f"\n## {name}: {scale.orders:,} orders, {scale.tickets:,} tickets, {scale.hours:,} hours, {scale.defects:,} "
        f"defects; {scale.units} units, {scale.years} years"
    )
    print(f"warehouse on {kind}")
    print(f"floor (one DuckDB query over every file): {floor:.1f} s")
    print("| run | seconds | peak RSS GB | warehouse GB | extra disk during run GB |")
    print("| --- | --- | --- | --- | --- |")
    for run, m in runs.items():
        print(f"| {run} | {m.seconds:.1f} | {m.peak_rss_gb:.2f} | {m.warehouse_gb:.2f} | {m.extra_disk_gb:.2f} |")
    full, day = runs["full"].seconds, runs["one new day"].seconds
    print(f"full / floor = {full / floor:.0f}x; one new day / full = {day / full:.0%}")
    # The slowest steps of a full run and of a night with one new day (the incremental profile),
    # and the time no step accounts for: start-up, imports, loading the job's definitions (the
    # steps' times come from roi run's progress lines, in whole seconds: within a few seconds).
    full_steps, day_steps = runs["full"].steps, runs["one new day"].steps
    slowest = sorted(full_steps, key=full_steps.get, reverse=True)[:8]
    slowest += [s for s in sorted(day_steps, key=day_steps.get, reverse=True)[:8] if s not in slowest]
    print(f"slowest steps (s, {' / '.join(runs)}):")
    for step in slowest:
        print(f"  {step}: " + " / ".join(f"{runs[r].steps.get(step, 0):.0f}" for r in runs))
    print(
        "  outside any step (start-up, imports, the job's definitions): "
        + " / ".join(f"{max(0.0, m.seconds - sum(m.steps.values())):.0f}" for m in runs.values())
    )
    print(f"highest peak RSS while a step ran (GB, {' / '.join(runs)}):")
    memory = runs["full"].step_rss_gb
    for step in sorted(memory, key=memory.get, reverse=True)[:6]:
        print(f"  {step}: " + " / ".join(f"{runs[r].step_rss_gb.get(step, 0):.2f}" for r in runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="S,M,L", help="comma-separated, of " + ", ".join(SCALES))
    parser.add_argument(
        "--work", type=Path, default=None, help="where businesses are generated (default: a temporary folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated businesses and warehouses")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="roi-scale-"))
    for name in args.scales.split(","):
        scale = SCALES[name.strip()]
        root = work / name
        shutil.rmtree(root, ignore_errors=True)
        data, config, warehouse = root / "data", root / "initiatives.yml", root / "warehouse" / "warehouse.duckdb"
        warehouse.parent.mkdir(parents=True)
        started = time.perf_counter()
        generate(data, scale)
        config.write_text(yaml.safe_dump(register(scale), sort_keys=False))
        print(
            f"{name}: generated in {time.perf_counter() - started:.1f} s "
            f"({sum(f.stat().st_size for f in data.rglob('*.csv')) / 1024**3:.2f} GB of CSV)",
            flush=True,
        )
        floor = floor_seconds(data)
        runs = {"full": timed_run(data, config, warehouse, scale.as_of)}
        new_day = add_day(data, scale)
        runs["one new day"] = timed_run(data, config, warehouse, new_day)
        runs["nothing new"] = timed_run(data, config, warehouse, new_day)
        runs["nothing new, forced"] = timed_run(data, config, warehouse, new_day, "--force")
        report(name, scale, floor, runs, filesystem(warehouse.parent))
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
