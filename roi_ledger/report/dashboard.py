"""The live dashboard on the published warehouse (``./dev dashboard``; docs/report.md).

A Streamlit app reading the published marts. It never blocks the nightly run: it opens the
warehouse read-only only long enough to read the tables it shows and closes it again, and the run
replaces the published file by a rename, which readers do not hold up. It sees a new run as soon as
the file changes (its tables are cached by the file's modification time). The charts and words are
the morning report's (``roi_ledger.report``).

    streamlit run roi_ledger/report/dashboard.py -- --warehouse demo/warehouse.duckdb
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from roi_ledger.claims.labels import Grade
from roi_ledger.report.html import (
    MARTS,
    QUADRANT_WORDS,
    STATUS_WORDS,
    changes_since_last_run,
    matrix_figure,
    money_figure,
    series_figure,
)
from roi_ledger.report.summary import paragraphs, portfolio_sentence
from roi_ledger.words import money


def warehouse_path(argv: list[str]) -> Path:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", required=True)  # ./dev dashboard gives it (pipelines/serving)
    return Path(parser.parse_args(argv).warehouse).expanduser().resolve()


@st.cache_data(show_spinner=False, max_entries=4)
def load(path: str, modified: int) -> tuple[dict[str, pl.DataFrame], str]:
    """The marts of the warehouse as it is at ``modified`` (a new run: a new key, a fresh read)."""
    with duckdb.connect(path, read_only=True) as con:
        tables = {name: con.sql(f"select * from marts.{name}").pl() for name in MARTS}
        business = con.execute("select name from raw.register_business").fetchone()[0]
    return tables, business


def main() -> None:
    path = warehouse_path(sys.argv[1:])
    st.set_page_config(page_title="ROI Ledger", layout="wide")
    if not path.is_file():
        st.error(f"{path}: no published warehouse yet (run ./dev demo, or roi run).")
        return
    tables, business = load(str(path), path.stat().st_mtime_ns)
    portfolio = tables["portfolio_roi"]
    st.title(f"ROI Ledger — {business}")
    if portfolio.is_empty():
        st.info("No initiative has been measured yet.")
        return
    p = portfolio.row(0, named=True)
    show_portfolio(tables, p)
    catalogue = tables["metric_catalogue"]
    labels = dict(zip(catalogue["metric"], catalogue["label"]))
    show_initiative(tables, labels, p["currency"])
    show_objectives(tables["objective_progress"], labels)
    show_priorities(tables["portfolio_priorities"])
    runs = tables["runs"]
    finished = f"; last run finished {runs['ended_at'].max():%Y-%m-%d %H:%M:%S %Z}" if runs.height else ""
    st.caption(f"{path} — measured up to {p['as_of']:%d %B %Y}{finished}. Reload the page after a run to see it.")


def show_portfolio(tables: dict[str, pl.DataFrame], p: dict) -> None:
    """The portfolio's sentence, its money and reliability tiles and what changed since the last run."""
    currency = p["currency"]
    st.write(portfolio_sentence(p))
    tiles = st.columns(4)
    valued = p.get("n_valued", p["n_initiatives"]) > 0  # else the benefit is no £0, and the net no loss
    tiles[0].metric(
        "benefit so far",
        money(p["benefit_to_date"], currency) if valued else "not valued in money",
        help=f"between {money(p['benefit_ci_low'], currency)} and {money(p['benefit_ci_high'], currency)}"
        if valued
        else "nothing the initiatives are measured on has a price",
    )
    tiles[1].metric("spent so far", money(p["cost_to_date"], currency))
    net = money((p["benefit_to_date"] or 0) - (p["cost_to_date"] or 0), currency)
    tiles[2].metric("net so far", net if valued else "not valued in money")
    tiles[3].metric("claims the data support", f"{p['n_reliable']} of {p['n_initiatives']}")
    with st.expander("Since the last run", expanded=True):
        for line in changes_since_last_run(tables["initiative_roi_history"], p["as_of"]):
            st.write(line)


def show_initiative(tables: dict[str, pl.DataFrame], labels: dict[str, str], currency: str) -> None:
    """The initiative the reader chooses: its paragraph, its series and its money curve."""
    roi = tables["initiative_roi"]
    found = paragraphs(
        roi,
        tables["initiative_effects"],
        tables["initiative_metric_money"],
        tables["claim_reliability_reasons"],
        tables["metric_catalogue"],
    )
    names = {f.initiative_id: f.title for f in found}
    chosen = st.selectbox("Initiative", list(names), format_func=names.get)
    paragraph = next(f for f in found if f.initiative_id == chosen)
    st.subheader(paragraph.title)
    for line in paragraph.lines:
        st.write(line)
    row = roi.filter(pl.col("initiative_id") == chosen).row(0, named=True)
    series = tables["counterfactual_series"].filter(pl.col("initiative_id") == chosen)
    for (metric,), one in series.partition_by("metric", as_dict=True).items() if series.height else []:
        st.plotly_chart(series_figure(one, row["first_go_live"], labels.get(metric, metric)), key=f"series-{metric}")
    valued = tables["initiative_metric_money"].filter((pl.col("initiative_id") == chosen) & pl.col("valued")).height > 0
    periods = tables["initiative_roi_periods"].filter(pl.col("initiative_id") == chosen)
    if valued and periods.height:
        payback = row["payback_date"] if row["grade"] == Grade.RELIABLE else None
        st.plotly_chart(money_figure(periods, currency, payback), key="money")


def show_objectives(objectives: pl.DataFrame, labels: dict[str, str]) -> None:
    if objectives.height:
        st.header("Objectives")
        st.dataframe(
            objectives.select(
                pl.col("statement").alias("objective"),
                pl.col("metric").replace_strict(labels, default=pl.col("metric")).alias("measured on"),
                pl.col("change_pct").round(1).alias("change %"),
                pl.col("target_change_pct").alias("target %"),
                pl.col("deadline"),
                pl.col("status").replace_strict(STATUS_WORDS, default=pl.col("status")),
            ),
            hide_index=True,
        )


def show_priorities(priorities: pl.DataFrame) -> None:
    if priorities.height:
        st.header("What to do next")
        st.plotly_chart(matrix_figure(priorities), key="matrix")
        st.dataframe(
            priorities.select(
                "name",
                pl.col("quadrant").replace_strict(QUADRANT_WORDS, default=pl.col("quadrant")),
                pl.col("discounted_net_annual_value").round(0).alias("net value a year, discounted"),
            ),
            hide_index=True,
        )


if __name__ == "__main__":  # streamlit runs the file as __main__
    main()
