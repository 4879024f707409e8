"""The Dagster code location: each module of ``pipelines/defs/`` contributes its definitions.

Read in the order a run flows: ingest -> quality -> transform (dbt, metrics layer) -> effects
-> oversight (business cases) -> claims -> money -> oversight (sign-off) -> strategy
-> transform (dbt, results layer) -> publish; ``schedule`` holds the nightly job and its schedule.
Every step shares one resource, the run (its context and its warehouse:
``pipelines.runtime.resources``). See docs/architecture.md.
"""

from dagster import Definitions, colored_console_logger

from pipelines.defs import (
    claims,
    effects,
    ingest,
    money,
    oversight,
    publish,
    quality,
    schedule,
    strategy,
    transform,
)
from pipelines.runtime.progress import progress_logger
from pipelines.runtime.resources import RESOURCE_KEY, resource_from_environment

defs = Definitions.merge(
    ingest.defs,
    quality.defs,
    transform.defs,
    effects.defs,
    claims.defs,
    money.defs,
    oversight.defs,
    strategy.defs,
    publish.defs,
    schedule.defs,
    Definitions(
        resources={RESOURCE_KEY: resource_from_environment()},
        # Dagster's console logger, and the terminal progress `roi run` switches on
        loggers={"console": colored_console_logger, "progress": progress_logger},
    ),
)
