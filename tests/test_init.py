"""``roi init``: a folder of real-format exports (tests/exports: Shopify, Zendesk, Harvest,
Clockify) and no sources.yml becomes a sources.yml and an initiatives.yml that ``roi validate``
accepts as written; the printout's counts and dates are hand-counted from the export files."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from connectors.recognise import guess_currency, guess_timezone, match_header, recognise
from pipelines.commands import main
from pipelines.commands.exit_codes import EXIT_INVALID_INPUT, EXIT_OK
from pipelines.commands.validate import validate as roi_validate

EXPORTS = Path(__file__).with_name("exports")
# the exports under the names their tools give them
FILES = {
    "shopify_orders_export.csv": "orders_export_1.csv",
    "zendesk_tickets.csv": "tickets_export.csv",
    "harvest_time_report.csv": "harvest_time_report_from2024-01-01to2024-01-31.csv",
    "clockify_detailed.csv": "Clockify_Time_Report_Detailed.csv",
}


def exports_folder(root: Path, names: dict[str, str] = FILES) -> Path:
    data = root / "data"
    data.mkdir()
    for source, name in names.items():
        shutil.copy(EXPORTS / source, data / name)
    return data


@pytest.fixture
def data(tmp_path) -> Path:
    return exports_folder(tmp_path)


def run_init(*args: str) -> int:
    return main(["init", *args])


def test_init_writes_sources_and_a_register_that_validates(data, capsys):
    assert run_init(str(data)) == EXIT_OK
    printed = capsys.readouterr().out
    config = data.parent / "initiatives.yml"  # beside the data folder, as the README lays it out
    sources = yaml.safe_load((data / "sources.yml").read_text())["sources"]
    assert {name: (s["preset"], s["path"]) for name, s in sources.items()} == {
        "clockify": ("clockify", "Clockify_Time_Report_Detailed.csv"),
        "harvest": ("harvest", "harvest_time_report_from2024-01-01to2024-01-31.csv"),
        "shopify": ("shopify", "orders_export_1.csv"),
        "zendesk": ("zendesk", "tickets_export.csv"),
    }
    assert roi_validate(data, config) == EXIT_OK
    # Hand-counted from tests/exports. Orders: #1001 (two line items, one order) and #1003 have no
    # Location and Source "web"; #1002 is Market Street; #1004 is rejected (fulfilled before ordered).
    # Tickets: 101 and 102 Support, 103 Wholesale, 104 rejected (Reopens "many"). Hours: Harvest's
    # two identical shop_a lines are two entries, its -1 hours line is rejected; Clockify adds two
    # shop_a entries (5 and 15 January) and one shop_b (16 January).
    for line in (
        "orders: 3 records in 2 units, 2024-01-01 to 2024-01-04",
        "tickets: 3 records in 2 units, 2024-01-05 to 2024-01-07",
        "hours: 6 records in 2 units, 2024-01-05 to 2024-01-16",
        "web: orders 2, 2024-01-01 to 2024-01-04",
        "Market Street: orders 1, 2024-01-03 to 2024-01-03",
        "Support: tickets 2, 2024-01-05 to 2024-01-06",
        "Wholesale: tickets 1, 2024-01-07 to 2024-01-07",
        "shop_a: hours 4, 2024-01-05 to 2024-01-15",
        "shop_b: hours 2, 2024-01-08 to 2024-01-16",
        "order_fulfilment_hours: Median hours from order to fulfilment",
        "hours_packing: Hours per week spent on packing",
        "no defects data: defect_rate, defect_cost_per_week cannot be computed",
        f"validate --data {data} --config {config}",
        f"run --data {data} --config {config} --warehouse",
    ):
        assert line in printed, line
    register = yaml.safe_load(config.read_text())
    assert register["business"]["currency"] == "GBP"  # Shopify's Currency, Harvest's "British Pound - GBP"
    assert register["business"]["timezone"] == "Europe/London"  # Shopify's +0000 in January, and GBP
    (initiative,) = register["initiatives"]
    # the first suggested metric the data computes, the unit with most orders, a go-live halfway
    # through its orders (1 to 4 January)
    assert initiative["metrics"] == ["order_fulfilment_hours"]
    assert initiative["treated_units"] == ["web"]
    assert initiative["go_live"] == "2024-01-02" or initiative["go_live"] == date(2024, 1, 2)
    assert "# guardrails:" in config.read_text() and "fill in" in config.read_text()


def test_init_never_overwrites_without_force(data, capsys):
    assert run_init(str(data)) == EXIT_OK
    config = data.parent / "initiatives.yml"
    config.write_text(config.read_text() + "# the owner's edit\n")
    capsys.readouterr()
    assert run_init(str(data)) == EXIT_INVALID_INPUT
    message = capsys.readouterr().err
    assert "already exist" in message and "--force" in message and "nothing was written" in message
    assert config.read_text().endswith("# the owner's edit\n")
    assert run_init(str(data), "--force") == EXIT_OK
    assert "the owner's edit" not in config.read_text()


def test_an_unrecognised_file_is_a_gap_with_why(data, capsys):
    (data / "stock_levels.csv").write_text("sku,on_hand\nSD-1,12\n")
    (data / "readme.pdf").write_bytes(b"%PDF-1.4")
    (data / "almost_harvest.csv").write_text("Date,Project,Task,Hours,First Name\n2024-01-08,shop_a,Packing,2,Ann\n")
    assert run_init(str(data)) == EXIT_OK
    printed = capsys.readouterr().out
    gaps = printed[printed.index("gaps:") :]
    assert f"{data / 'stock_levels.csv'}: its columns are neither an export ROI Ledger knows" in gaps
    assert f"{data / 'readme.pdf'}: not a data file format" in gaps
    assert "closest: a Harvest export, but it lacks 'Cost Rate', 'Last Name'" in gaps
    assert roi_validate(data, data.parent / "initiatives.yml") == EXIT_OK


def test_a_link_out_of_the_data_folder_is_never_read(data, tmp_path, capsys):
    outside = tmp_path / "elsewhere.csv"
    shutil.copy(EXPORTS / "zendesk_tickets.csv", outside)
    (data / "tickets_link.csv").symlink_to(outside)
    assert run_init(str(data)) == EXIT_OK
    printed = capsys.readouterr().out
    assert f"{data / 'tickets_link.csv'}: is a link to a file outside the data folder" in printed
    assert "tickets_link" not in (data / "sources.yml").read_text()


def test_a_folder_with_nothing_known_writes_nothing(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "stock_levels.csv").write_text("sku,on_hand\nSD-1,12\n")
    assert run_init(str(data)) == EXIT_INVALID_INPUT
    assert "nothing was written" in capsys.readouterr().err
    assert not (data / "sources.yml").exists() and not (tmp_path / "initiatives.yml").exists()


def test_headers_are_recognised_per_tool_language_and_contract():
    zendesk = (EXPORTS / "zendesk_tickets.csv").read_text().splitlines()[0].split(",")
    german = {
        "Id": "ID",
        "Group": "Gruppe",
        "Created at": "Erstellt am",
        "Solved at": "Gelöst am",
        "First reply time in minutes": "Zeit bis zur ersten Reaktion in Minuten",
        "Reopens": "Erneute Öffnungen",
        "Satisfaction Score": "Zufriedenheitsbewertung",
    }
    assert match_header(zendesk)[:2] == ("tickets", "zendesk")
    assert match_header([german.get(c, c) for c in zendesk])[:2] == ("tickets", "zendesk")
    contract = ["order_id", "unit_id", "ordered_at", "amount", "status", "has_error"]
    assert match_header(contract)[:2] == ("orders", None)
    assert match_header(["Date", "Hours"])[:2] == (None, None)


def test_an_export_series_is_one_source_with_a_glob(tmp_path):
    data = exports_folder(
        tmp_path,
        {"shopify_orders_export.csv": "orders_export_1.csv", "zendesk_tickets.csv": "tickets.csv"},
    )
    shutil.copy(data / "orders_export_1.csv", data / "orders_export_1 (1).csv")
    shutil.copy(data / "orders_export_1.csv", data / "orders_export_2.csv")
    (contract := data / "orders").mkdir()
    (contract / "2024.csv").write_text(
        "order_id,unit_id,ordered_at,amount,status,has_error\nA1,Leeds,2024-01-02 10:00,5,completed,false\n"
    )
    groups = {(g.preset, g.path): len(g.files) for g in recognise(data).groups}
    assert groups == {
        ("shopify", "orders_export_*.csv"): 3,
        ("zendesk", "tickets.csv"): 1,
        (None, "orders/2024.csv"): 1,
    }
    (data / "orders_export_2.csv").unlink()
    assert {g.path for g in recognise(data).groups if g.preset == "shopify"} == {"orders_export_1*.csv"}


def test_currency_and_timezone_are_guessed_from_the_exports(tmp_path):
    harvest_only = recognise(exports_folder(tmp_path, {"harvest_time_report.csv": "time.csv"})).groups
    assert guess_currency(harvest_only)[0] == "GBP"  # "British Pound - GBP"
    # Harvest's dates carry no offset: the currency's zone, and the comment says so
    zone, why = guess_timezone(harvest_only, "GBP")
    assert zone == "Europe/London" and "no timestamp in the exports carries an offset" in why
    assert guess_timezone(harvest_only, None) == (None, "")
    summer = tmp_path / "summer"
    summer.mkdir()
    (summer / "orders.csv").write_text(
        "order_id,unit_id,ordered_at,amount,status,has_error\n"
        "A1,Leeds,2024-01-02 10:00:00+00:00,5,completed,false\n"
        "A2,Leeds,2024-07-02 10:00:00+01:00,5,completed,false\n"
    )
    groups = recognise(summer).groups
    assert guess_currency(groups) == (None, "")
    # +00:00 in January and +01:00 in July: London for pounds, Dublin (not Berlin, +01:00 in
    # January) for euros, and without a currency one of the zones that fit, said to be one of several
    assert guess_timezone(groups, "GBP")[0] == "Europe/London"
    assert guess_timezone(groups, "EUR")[0] == "Europe/Dublin"
    zone, why = guess_timezone(groups, None)
    assert zone not in ("UTC", "Europe/Berlin") and "other zones" in why


def scripted(monkeypatch, answers: list[str]) -> list[str]:
    """Feed ``answers`` to ``input()``; the questions asked are collected in the list returned."""
    asked: list[str] = []
    pending = iter(answers)

    def answer(question: str = "") -> str:
        asked.append(question)
        try:
            return next(pending)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", answer)
    return asked


def test_interactive_init_writes_the_answers_and_asks_again_with_a_reason(data, monkeypatch, capsys):
    asked = scripted(
        monkeypatch,
        [
            "",  # no name: asked again
            "Labels\u200b",  # an invisible character the register refuses: asked again
            "Automatic shipping labels",
            "Narnia",  # not a unit of the data: asked again
            "web, Market Street",
            "2030-01-01",  # after the data: asked again
            "2024-01-03",
            "1,200",
            "a lot",  # not an amount: asked again
            "25.50",
            "ticket_first_response_minutes",
            "csat_mean",
            "",  # the margin: Enter keeps 5
        ],
    )
    assert run_init(str(data), "--interactive") == EXIT_OK
    printed = capsys.readouterr().out
    assert "'Narnia' is not one of the 6 listed" in printed
    assert "the data runs 2024-01-01 to 2024-01-16" in printed and "'a lot' is not an amount" in printed
    assert "give it a name" in printed and "U+200B" in printed
    assert len(asked) == 13
    config = data.parent / "initiatives.yml"
    assert roi_validate(data, config) == EXIT_OK
    (initiative,) = yaml.safe_load(config.read_text())["initiatives"]
    assert initiative["id"] == "automatic_shipping_labels"
    assert initiative["name"] == "Automatic shipping labels"
    assert initiative["treated_units"] == ["web", "Market Street"]
    assert str(initiative["go_live"]) == "2024-01-03"
    assert initiative["metrics"] == ["ticket_first_response_minutes"]
    assert initiative["costs"] == [
        {"kind": "one_off", "amount": 1200, "date": date(2024, 1, 3)},
        {"kind": "monthly", "amount": 25.5, "start": date(2024, 1, 3)},
    ]
    from roi_ledger.register import Initiative

    if "guardrails" in Initiative.model_fields:
        assert initiative["guardrails"] == [{"metric": "csat_mean", "margin_pct": 5}]
    else:  # written for the owner to switch on once the register reads guardrails
        assert "#   - {metric: csat_mean, margin_pct: 5}" in config.read_text()


def test_interactive_init_that_runs_out_of_answers_writes_nothing(data, monkeypatch, capsys):
    scripted(monkeypatch, ["Automatic shipping labels"])
    assert run_init(str(data), "--interactive") == EXIT_INVALID_INPUT
    assert "nothing was written" in capsys.readouterr().err
    assert not (data / "sources.yml").exists() and not (data.parent / "initiatives.yml").exists()


@pytest.mark.e2e
def test_init_then_run_gives_a_morning_report(tmp_path, capsys):
    """The café's trial (docs/register.md, "Starting"): three exports, roi init, the register as
    written, roi validate, roi run: a morning report and no error."""
    from pipelines.commands.run import run as roi_run
    from pipelines.runtime.warehouse import Warehouse

    data = exports_folder(tmp_path, {k: v for k, v in FILES.items() if not k.startswith("clockify")})
    assert run_init(str(data)) == EXIT_OK
    config = tmp_path / "initiatives.yml"
    assert roi_validate(data, config) == EXIT_OK
    warehouse = tmp_path / "roi.duckdb"
    assert roi_run(data, config, warehouse, date(2024, 1, 31)) == EXIT_OK
    report = Warehouse(warehouse).report_file
    assert report.exists() and "What was automated" in report.read_text()
    assert "morning report" in capsys.readouterr().out
