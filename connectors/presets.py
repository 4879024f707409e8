"""Ready-made sources for the tools small businesses keep their records in (docs/sources.md).

A preset maps a tool's own fields onto the contract, once for its CSV export (``kind: files``) and
once for its API (``kind: rest_api``, read with dlt's ``rest_api`` source: the endpoint, its
pagination and incremental cursor as the tool's public API documentation describes them). A
source names the preset and adds what is the business's own — the file's path, the base URL, the
environment variables holding its token — and may override any column::

    sources:
      shop_orders: {preset: shopify, path: exports/orders_export*.csv}
      shop_api:    {preset: shopify, kind: rest_api, base_url: https://my-shop.myshopify.com}

Where a tool has no field for a contract column (Shopify has no "order had an error"), the
preset fills a neutral constant and the docs say so; override it from a tag or a note field.
A tool whose export is localised lists its headers in the other languages (``header_aliases``,
``canonical_headers``). docs/sources.md carries each preset in full as YAML generated from these
dicts (``preset_yaml``; ``python -m connectors.presets docs/sources.md``), held equal by a test.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from roi_ledger.contract import ContractError

# Shopify: the order export (Admin > Orders > Export: one row per line item, order fields on the
# first) and the REST Admin API's orders endpoint (Link-header pagination, updated_at_min).
_SHOPIFY_STATUS = {
    "paid": "completed",
    "partially_paid": "completed",
    "authorized": "completed",
    "pending": "completed",
    "partially_refunded": "completed",
    "refunded": "refunded",
    "voided": "cancelled",
}
SHOPIFY = {
    "dataset": "orders",
    "files": {
        "one_record_per": "Name",
        "columns": {
            "order_id": "Name",
            "unit_id": {"sql": "coalesce(nullif(trim(\"Location\"), ''), nullif(trim(\"Source\"), ''), 'online')"},
            "ordered_at": "Created at",
            "fulfilled_at": "Fulfilled at",
            "amount": "Total",
            "status": {
                "sql": "case when nullif(trim(\"Cancelled at\"), '') is not null then 'voided' "
                'else "Financial Status" end',
                "map": _SHOPIFY_STATUS,
            },
            "has_error": {"constant": False},
            "customer_id": "Email",
        },
    },
    "rest_api": {
        "client": {
            "paginator": "header_link",
            "auth": {
                "type": "api_key",
                "name": "X-Shopify-Access-Token",
                "location": "header",
                "api_key": {"env": "SHOPIFY_ACCESS_TOKEN"},
            },
        },
        "resource": {
            "endpoint": {
                "path": "admin/api/2024-10/orders.json",
                "params": {"status": "any", "limit": 250},
                "data_selector": "orders",
            },
        },
        "cursor": "updated_at",
        "cursor_param": "updated_at_min",
        "columns": {
            "order_id": "name",
            "unit_id": {"sql": "coalesce(location_id, source_name, 'online')"},
            "ordered_at": "created_at",
            "fulfilled_at": {"sql": "json_extract_string(fulfillments, '$[0].created_at')"},
            "amount": "total_price",
            "status": {
                "sql": "case when cancelled_at is not null then 'voided' else financial_status end",
                "map": _SHOPIFY_STATUS,
            },
            "has_error": {"constant": False},
            "customer_id": {"sql": "coalesce(customer__id, email)"},
        },
    },
}

# Zendesk: the ticket export (Reporting > Export, CSV) and the incremental ticket export API
# (cursor based, start_time in Unix seconds) with its metric sets sideloaded.
_CSAT = {"good": 5, "bad": 1, "gut": 5, "schlecht": 1}  # the English and the German export
ZENDESK = {
    "dataset": "tickets",
    "files": {
        "columns": {
            "ticket_id": "Id",
            "unit_id": {"sql": "coalesce(nullif(trim(\"Group\"), ''), 'support')"},
            "opened_at": "Created at",
            "first_response_at": {
                "sql": 'strftime(try_cast("Created at" as timestamp) '
                "+ to_minutes(try_cast(\"First reply time in minutes\" as bigint)), '%Y-%m-%d %H:%M:%S')"
            },
            "resolved_at": "Solved at",
            "reopened": {
                "sql": "case when try_cast(\"Reopens\" as bigint) > 0 then 'true' "
                "when try_cast(\"Reopens\" as bigint) = 0 then 'false' end"
            },
            "csat": {"column": "Satisfaction Score", "map": _CSAT, "otherwise": None},
        },
    },
    "rest_api": {
        "client": {
            "paginator": {
                "type": "cursor",
                "cursor_path": "after_cursor",
                "cursor_param": "cursor",
                "stop_after_empty_page": True,
            },
            "auth": {"type": "bearer", "token": {"env": "ZENDESK_OAUTH_TOKEN"}},
        },
        "resource": {
            "endpoint": {
                "path": "api/v2/incremental/tickets/cursor.json",
                "params": {"include": "metric_sets"},
                "data_selector": "tickets",
            },
        },
        "sideload": {"data_selector": "metric_sets", "key": "ticket_id", "joins": "id", "prefix": "metric_set"},
        "cursor": "updated_at",
        "cursor_param": "start_time",
        "cursor_format": "unix",
        "initial_value": "2000-01-01T00:00:00Z",
        "columns": {
            "ticket_id": "id",
            "unit_id": {"sql": "coalesce(group_id, 'support')"},
            "opened_at": "created_at",
            "first_response_at": {
                "sql": "strftime(try_cast(created_at as timestamptz) + "
                "to_minutes(try_cast(metric_set__reply_time_in_minutes__calendar as bigint)), '%Y-%m-%d %H:%M:%S%z')"
            },
            "resolved_at": "metric_set__solved_at",
            "reopened": {
                "sql": "case when try_cast(metric_set__reopens as bigint) > 0 then 'true' "
                "when try_cast(metric_set__reopens as bigint) = 0 then 'false' end"
            },
            "csat": {"column": "satisfaction_rating__score", "map": _CSAT, "otherwise": None},
        },
    },
}

# Harvest: the detailed time report export (CSV, no entry id: one is made from the row) and the
# v2 API's time entries (links.next pagination, updated_since).
HARVEST = {
    "dataset": "hours",
    "files": {
        "columns": {
            # an entry is who worked how long on what, when: a rate revised later is a new version of
            # it, an export made again after invoicing (Invoiced?, Billable Amount) the same entry
            "entry_id": {"generated": "row_hash", "of": ["unit_id", "employee_id", "work_date", "activity", "hours"]},
            "unit_id": "Project",
            "employee_id": {"sql": 'concat_ws(\' \', "First Name", "Last Name")'},
            "work_date": "Date",
            "activity": "Task",
            "hours": "Hours",
            "hourly_cost": "Cost Rate",
        },
    },
    "rest_api": {
        "client": {
            "base_url": "https://api.harvestapp.com/",
            "paginator": {"type": "json_link", "next_url_path": "links.next"},
            "auth": {"type": "bearer", "token": {"env": "HARVEST_ACCESS_TOKEN"}},
            "headers": {"Harvest-Account-Id": {"env": "HARVEST_ACCOUNT_ID"}, "User-Agent": "ROI Ledger"},
        },
        "resource": {
            "endpoint": {"path": "v2/time_entries", "params": {"per_page": 2000}, "data_selector": "time_entries"}
        },
        "cursor": "updated_at",
        "cursor_param": "updated_since",
        "columns": {
            "entry_id": "id",
            "unit_id": "project__name",
            "employee_id": "user__id",
            "work_date": "spent_date",
            "activity": "task__name",
            "hours": "hours",
            "hourly_cost": "cost_rate",
        },
    },
}

# Clockify: the detailed report export (CSV). Its dates follow the workspace's format: the
# typing sniffs day/month against month/day, or the source says date_format.
CLOCKIFY = {
    "dataset": "hours",
    "files": {
        "columns": {
            "entry_id": {"generated": "row_hash"},
            "unit_id": "Project",
            "employee_id": "Email",
            "work_date": "Start Date",
            "activity": {"sql": "coalesce(nullif(trim(\"Task\"), ''), 'general')"},
            "hours": "Duration (decimal)",
        },
    },
}

# A tool whose export is written in its user's language: per header the preset reads, the same
# column's header in the other languages (``header_aliases``, applied by ``canonical_headers``).
# Zendesk's German names are its German help centre's words for these fields ("Zeit bis zur
# ersten Reaktion", "Zufriedenheitsbewertung"); they were not checked against a German export:
# where yours differ, add them here (or map the columns in sources.yml).
ZENDESK["header_aliases"] = {
    "Id": ["ID"],
    "Group": ["Gruppe"],
    "Created at": ["Erstellt am", "Erstellt"],
    "Solved at": ["Gelöst am", "Gelöst"],
    "First reply time in minutes": ["Zeit bis zur ersten Reaktion in Minuten", "Erste Antwortzeit in Minuten"],
    "Reopens": ["Erneute Öffnungen", "Wiedereröffnungen"],
    "Satisfaction Score": ["Zufriedenheitsbewertung"],
}

PRESETS: dict[str, dict[str, Any]] = {"shopify": SHOPIFY, "zendesk": ZENDESK, "harvest": HARVEST, "clockify": CLOCKIFY}
# Where the docs' copy of each mapping puts the export (a source's path is the business's own)
EXAMPLE_PATHS = {
    "shopify": "exports/orders_export*.csv",
    "zendesk": "exports/tickets*.csv",
    "harvest": "exports/harvest_time_report*.csv",
    "clockify": "exports/clockify_detailed*.csv",
}


def apply_preset(spec: dict, where: str) -> dict:
    """A source's settings over its preset's: the source's own keys win; ``client`` and
    ``resource`` settings are merged key by key, and each column the source maps replaces the
    preset's mapping of that column."""
    name = spec.get("preset")
    if name is None:
        return spec
    preset = PRESETS.get(name)
    if preset is None:
        raise ContractError(f"{where}: unknown preset {name!r} (presets: {', '.join(PRESETS)})")
    kind = spec.get("kind", "files")
    base = preset.get(kind)
    if base is None:
        kinds = [k for k in ("files", "sql", "rest_api") if k in preset]
        raise ContractError(f"{where}: preset {name!r} has no {kind} source (it has: {', '.join(kinds)})")
    merged = _merge(
        {"dataset": preset["dataset"], "kind": kind, **copy.deepcopy(base)},
        {k: v for k, v in spec.items() if k != "columns"},
    )
    # a column the source maps replaces the preset's mapping of it whole
    merged["columns"] = {**merged.get("columns", {}), **(spec.get("columns") or {})}
    return merged


def _merge(base: dict, override: dict) -> dict:
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict) and set(value) != {"env"}:
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def canonical_headers(preset: str | None, columns: list[str]) -> dict[str, str]:
    """The renames that turn a localised export's headers into the ones the preset maps, all in
    one go: ``{"Erstellt am": "Created at", ...}`` for each header that is another language's name
    of a column the export does not also hold under the preset's own name."""
    aliases = PRESETS.get(preset or "", {}).get("header_aliases", {})
    present = set(columns)
    renames: dict[str, str] = {}
    for canonical, others in aliases.items():
        if canonical in present:
            continue
        found = [name for name in others if name in present]
        if found:
            renames[found[0]] = canonical
    return renames


def with_canonical_headers(text, preset: str | None):
    """A file read as text records (``connectors.readers.TextFile``) with its localised headers
    renamed as ``canonical_headers`` says, its records' columns with them."""
    renames = canonical_headers(preset, text.columns)
    if renames:
        text.columns = [renames.get(name, name) for name in text.columns]
        text.batches = (batch.rename(renames, strict=False) for batch in text.batches)
    return text


def preset_source(name: str, kind: str) -> dict[str, Any]:
    """The preset's full source as a sources.yml would write it without ``preset:`` — dataset,
    path (an example) and every setting and column mapping, derived fields' SQL included."""
    preset = PRESETS[name]
    source: dict[str, Any] = {"dataset": preset["dataset"]}
    if kind == "files":
        source["path"] = EXAMPLE_PATHS[name]
    else:
        source["kind"] = kind
    return source | copy.deepcopy(preset[kind])


def preset_yaml(name: str, kind: str) -> str:
    """``preset_source`` as the YAML docs/sources.md shows (a test holds the two equal)."""
    import yaml

    source = {"sources": {f"{name}_{'export' if kind == 'files' else 'api'}": preset_source(name, kind)}}
    return yaml.safe_dump(source, sort_keys=False, allow_unicode=True, width=1000)


def write_docs(path: Path) -> None:
    """Rewrite each preset's YAML block in the docs page ``path`` from the preset dicts: the block
    after a line ``<!-- preset: NAME KIND -->``."""
    text = path.read_text(encoding="utf-8")

    def block(match: re.Match) -> str:
        return f"{match.group(1)}```yaml\n{preset_yaml(match.group(2), match.group(3))}```"

    path.write_text(_DOC_BLOCK.sub(block, text), encoding="utf-8")


_DOC_BLOCK = re.compile(r"(<!-- preset: (\w+) (\w+) -->\n)```yaml\n.*?```", re.DOTALL)


if __name__ == "__main__":  # python -m connectors.presets docs/sources.md
    import sys

    write_docs(Path(sys.argv[1]))
