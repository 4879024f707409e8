"""``roi demo``: generate the demo business (roi_ledger.demo) and run the nightly job on it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pipelines.commands.run import run
from pipelines.runtime.settings import SALT_VAR, read_settings

# Public: the demo has no real people in it.
DEMO_SALT = "roi-ledger-demo-salt-not-secret"
# The demo's default size: the one the end-to-end tests check the acceptance criteria on.
DEMO_SCALE = 0.3


def command(args: argparse.Namespace) -> int:
    return demo(args.out, args.seed, args.scale)


def demo(out: Path, seed: int, scale: float) -> int:
    from roi_ledger.demo import generate_demo_business

    out = out.resolve()
    business = generate_demo_business(out, seed=seed, scale=scale)
    print(
        f"demo business written to {business.data_dir} (register {business.config_path}, "
        f"planted truth {business.truth_path})"
    )
    if read_settings().salt is None:
        os.environ[SALT_VAR] = DEMO_SALT  # for the run, which reads its settings when it starts
    return run(business.data_dir, business.config_path, out / "warehouse.duckdb", as_of=business.as_of)
