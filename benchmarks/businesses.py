"""Many businesses: ``roi run-all`` on N generated businesses, one of them deliberately broken.

Each business is a small one in the data contract (``benchmarks/scale.py``'s generator: orders,
tickets, hours and defects of a few units over two years, four initiatives); the broken one's
order files lack the ``amount`` column, which the run's first step refuses. It prints what
``roi run-all`` prints — a line per business and the summary — and the wall time: every good
business must be done, the broken one must fail alone.

    .venv/bin/python benchmarks/businesses.py [--businesses 20] [--parallel 2] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import yaml
from scale import SALT, Scale, generate, register

SMALL = Scale(orders=20_000, tickets=4_000, hours=4_000, defects=1_000, units=4, years=2)
ROI = str(Path(sys.executable).with_name("roi"))


def break_orders(data: Path) -> None:
    """Rewrite every order file without its amount column."""
    with duckdb.connect() as con:
        for path in sorted((data / "orders").glob("*.csv")):
            con.execute(f"copy (select * exclude (amount) from read_csv('{path}')) to '{path}.tmp' (header)")
            Path(f"{path}.tmp").replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--businesses", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="roi-businesses-"))
    broken = f"business_{args.businesses // 2:02d}"
    entries = []
    for number in range(args.businesses):
        name = f"business_{number:02d}"
        root = work / name
        generate(root / "data", SMALL)
        (root / "initiatives.yml").write_text(yaml.safe_dump(register(SMALL), sort_keys=False))
        if name == broken:
            break_orders(root / "data")
        entries.append(
            {
                "name": name,
                "data": f"{name}/data",
                "config": f"{name}/initiatives.yml",
                "warehouse": f"{name}/roi.duckdb",
            }
        )
    businesses = work / "businesses.yml"
    businesses.write_text(yaml.safe_dump({"businesses": entries}, sort_keys=False))
    print(f"{args.businesses} businesses in {work} ({broken} broken: its orders lack 'amount')", flush=True)
    env = {**os.environ, "ROI_PSEUDONYM_SALT": os.environ.get("ROI_PSEUDONYM_SALT", SALT)}
    started = time.perf_counter()
    code = subprocess.run(
        [
            ROI,
            "run-all",
            "--businesses",
            str(businesses),
            "--parallel",
            str(args.parallel),
            "--as-of",
            SMALL.as_of.isoformat(),
        ],
        env=env,
    ).returncode
    print(f"roi run-all exited {code} after {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
