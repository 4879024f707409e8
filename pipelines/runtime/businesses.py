"""Many businesses, one deployment: the consultant's ``businesses.yml``.

A consultant who serves several businesses keeps one file that says where each business's
data, register and warehouse are::

    businesses:
      - name: bakery_north          # the Dagster partition key: letters, digits, _ and -
        data: bakery_north/data     # paths relative to this file, or absolute
        config: bakery_north/initiatives.yml
        warehouse: bakery_north/roi.duckdb

Each business is a partition of the ``nightly_by_business`` job (``pipelines/defs/schedule.py``)
and a separate run: its own warehouse, its own lock, its own failure. ``roi run-all`` runs
every business of the file, each in a child process, several at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

NAME = re.compile(r"^[A-Za-z0-9_-]+$")
FIELDS = ("name", "data", "config", "warehouse")


class BusinessesError(ValueError):
    """The businesses file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Business:
    name: str
    data_dir: Path
    config_path: Path
    warehouse: Path


def load_businesses(path: Path) -> list[Business]:
    """Every business of ``path``, with absolute paths; refuses duplicates and missing fields."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise BusinessesError(f"{path}: cannot be read: {exc}") from exc
    entries = (document or {}).get("businesses") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise BusinessesError(f"{path}: expected a list under 'businesses:' (see pipelines/runtime/businesses.py)")
    businesses, seen = [], set()
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: business {number}"
        if not isinstance(entry, dict):
            raise BusinessesError(f"{where}: expected name, data, config and warehouse")
        missing = [f for f in FIELDS if not str(entry.get(f) or "").strip()]
        if missing:
            raise BusinessesError(f"{where}: missing {', '.join(missing)}")
        unknown = sorted(set(entry) - set(FIELDS))
        if unknown:
            raise BusinessesError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
        name = str(entry["name"]).strip()
        if not NAME.match(name):
            raise BusinessesError(f"{where}: name {name!r} may hold only letters, digits, _ and -")
        if name in seen:
            raise BusinessesError(f"{where}: name {name!r} is used twice")
        seen.add(name)
        resolve = lambda value: (path.parent / str(value)).expanduser().resolve()  # noqa: E731
        businesses.append(Business(name, resolve(entry["data"]), resolve(entry["config"]), resolve(entry["warehouse"])))
    warehouses = [b.warehouse for b in businesses]
    shared = sorted({str(w) for w in warehouses if warehouses.count(w) > 1})
    if shared:
        raise BusinessesError(f"{path}: two businesses write to the same warehouse: {', '.join(shared)}")
    return businesses
