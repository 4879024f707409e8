"""Every ``ROI_*`` environment variable, its default and its check: the one place they are read.

A command, the run's resource, the code location's schedules or the failure notice reads
:class:`Settings` when it starts (``read_settings()``), not once per process, so a test that sets
a variable sees it; the rest of the code is handed typed values. Command-line flags win over these.

Some variables are written by the pipeline for a process it starts rather than set by people:
``ROI_BUILD_WAREHOUSE`` and ``ROI_DUCKDB_MEMORY_LIMIT`` for dbt's ``profiles.yml``
(``pipelines.runtime.project.dbt_env``), whose names are the constants below, and ``ROI_DBT_PARENT_PID``
(with ``ROI_DBT_TARGET``, for tests) for dbt's launcher, named in ``pipelines.runtime.dbt_child`` (it
starts before every dbt command, so it imports only the standard library, not this module's).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "ROI_"
# Personal identifiers are hashed with this secret before they land. A secret: read from the
# environment only, never passed as run config (which Dagster stores and shows) nor logged.
SALT_VAR = "ROI_PSEUDONYM_SALT"
# A consultant's code location names its businesses file here (pipelines/runtime/businesses.py).
BUSINESSES_VAR = "ROI_BUSINESSES"
# How much memory DuckDB may hold while a run builds (its ``memory_limit``; docs/performance.md).
# Past it DuckDB spills what it can to a folder beside the build file; what it cannot spill fails
# the run with DuckDB's message (the published warehouse stays). dbt's profile reads the same
# variable (dbt_project/profiles.yml), which ``pipelines.runtime.project.dbt_env`` sets from here.
MEMORY_LIMIT_VAR = "ROI_DUCKDB_MEMORY_LIMIT"
# The default holds a night of the L benchmark (10M orders, five years) to a peak of 1.9 GB for
# the whole run, no slower than at 1GB, and a single 10M-row export lands within it: DuckDB's own
# default (80% of the machine's memory) took 9 GB for the same night and was slower.
DEFAULT_MEMORY_LIMIT = "768MB"
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
# dbt's profile reads the file to build into from this variable (absolute paths only).
BUILD_WAREHOUSE_VAR = "ROI_BUILD_WAREHOUSE"
# The warehouse `./dev docs` and `./dev dashboard` show when neither a flag nor ROI_WAREHOUSE names one.
DEMO_WAREHOUSE = Path("demo/warehouse.duckdb")
# Where `./dev dashboard` and `./dev docs` listen unless --host or ROI_SERVE_HOST says otherwise.
LOCALHOST = "127.0.0.1"
# A serving token shorter than this can be guessed by trying (as the salt's rule, privacy.py).
MIN_SERVE_TOKEN_CHARS = 16


class SettingsError(ValueError):
    """A variable holds a value that cannot be used; the message names it."""


class Settings(BaseSettings):
    """The environment, typed. An empty variable counts as unset."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, extra="ignore")

    # where a business's inputs are and where its warehouse goes (flag defaults of `roi`)
    data_dir: Path | None = None
    config: Path | None = None
    warehouse: Path | None = None
    as_of: str | None = None  # YYYY-MM-DD, checked by `roi run` like its --as-of flag
    businesses: Path | None = None
    pseudonym_salt: SecretStr | None = None
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT
    # failure notices (pipelines/runtime/notify.py)
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: str | None = None  # "1" on, anything else off; default on unless the port is 25
    smtp_ssl: str | None = None  # "1": TLS from the start (also whenever the port is 465)
    notify_from: str = "roi-ledger@localhost"
    notify_to: str | None = None
    notify_webhook: SecretStr | None = None
    # the dashboard and the docs site (pipelines/serving): where they listen, and the token every
    # request must carry (required to listen beyond this machine; a secret, never printed)
    serve_host: str = LOCALHOST
    serve_token: SecretStr | None = None
    # set by the pipeline for dbt (see the module's docstring)
    build_warehouse: Path | None = None

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _duckdb_size(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return DEFAULT_MEMORY_LIMIT
        if not _SIZE.fullmatch(value):
            raise ValueError(
                f"{MEMORY_LIMIT_VAR}={value!r} is not a size DuckDB takes: write it as a number and a unit, "
                "e.g. 2GB or 512MB"
            )
        return value

    @field_validator("serve_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_SERVE_TOKEN_CHARS:
            raise ValueError(
                f"ROI_SERVE_TOKEN is shorter than {MIN_SERVE_TOKEN_CHARS} characters: anyone could guess it; make one "
                "with python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @property
    def token(self) -> str | None:
        """The serving token (None when unset): the one accessor of the secret."""
        return self.serve_token.get_secret_value() if self.serve_token else None

    @property
    def salt(self) -> str | None:
        """The pseudonymisation salt (None when unset): the one accessor of the secret."""
        return self.pseudonym_salt.get_secret_value() if self.pseudonym_salt else None

    @property
    def warehouse_or_demo(self) -> Path:
        """``ROI_WAREHOUSE``, else the demo's warehouse (what `./dev docs` and `./dev dashboard` show)."""
        return self.warehouse or DEMO_WAREHOUSE

    def secrets(self) -> list[str]:
        """The values a message must never show (a password, a webhook URL with its token)."""
        return [
            s.get_secret_value()
            for s in (self.smtp_password, self.notify_webhook, self.pseudonym_salt, self.serve_token)
            if s
        ]


def variable(field: str) -> str:
    """The environment variable of a field of :class:`Settings` (``data_dir`` -> ``ROI_DATA_DIR``)."""
    return PREFIX + field.upper()


def read_settings() -> Settings:
    """The settings as the environment holds them now; ``SettingsError`` names a variable whose
    value cannot be used (a message for people: no Python internals, no secret)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = variable(str(error["loc"][0])) if error["loc"] else PREFIX + "*"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(message if message.startswith(name) else f"{name}: {message}")
        raise SettingsError("; ".join(problems)) from None
