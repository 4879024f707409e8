"""What the commands print for people: the sources report, a failed night's rejections, the
morning summary."""

from __future__ import annotations

import sys
from pathlib import Path

from connectors.landing import counts_in_words


def print_source_report(found, ignored, *, sampled: int | None) -> None:
    """Per file (or pull): rows that would load and be rejected, the reasons with example rows and,
    where ``connectors.dry_run`` gave them, the failing values that are not personal."""
    reasons: dict[str, list[tuple]] = {}
    for _dataset, origin, reason, rows, examples, *values in found.rejections:
        reasons.setdefault(origin, []).append((reason, rows, examples, values[0] if values else []))
    read_files = {str(p) for ps in found.files.values() for p in ps}
    for dataset, origin, loaded, rejected, unchanged, folded in found.loads:
        sample = " (a sample)" if origin not in read_files and sampled else ""
        print(f"  {origin} -> {dataset}{sample}: {counts_in_words(loaded, unchanged, folded, rejected, would=True)}")
        for reason, rows, examples, values in reasons.get(origin, [])[:8]:
            more = ", ..." if rows > len(examples) else ""
            quoted = ", ".join(f'"{value}"' for value in values)
            shown = f"; values {quoted}" if values else ""
            print(f"      {rows} x {reason} (rows {', '.join(map(str, examples))}{more}{shown})")
    for path, why in ignored:
        print(f"  ignored: {path}: {why}")


def print_top_rejections(build_file: Path, run_id: str, limit: int = 5) -> None:
    """The failed night's most frequent rejection reasons, from its unpublished build file (a
    failed check on the inputs is most often explained by them)."""
    import duckdb

    if not build_file.exists():
        return
    try:
        with duckdb.connect(str(build_file), read_only=True) as con:
            rows = con.execute(
                """
                with reasons as (
                    select dataset, unnest(string_split(reason, '; ')) as reason
                    from raw.rejected_rows where _load_id = ?
                )
                select dataset, regexp_replace(reason, '"[^"]*"', '"…"') as reason, count(*) as n
                from reasons group by all order by n desc limit ?
                """,
                [run_id, limit],
            ).fetchall()
    except duckdb.Error:
        return  # the run failed before it landed anything
    if rows:
        print("rows rejected this run, most frequent reasons (all in raw.rejected_rows):", file=sys.stderr)
        for dataset, reason, n in rows:
            print(f"  {n} x {dataset}: {reason}", file=sys.stderr)


def print_results(warehouse: Path) -> None:
    """The morning summary in plain words (roi_ledger.report.summary), and how to query the rest."""
    import duckdb

    from roi_ledger.report.summary import paragraphs, portfolio_sentence

    with duckdb.connect(str(warehouse), read_only=True) as con:

        def table(name: str):
            return con.sql(f"select * from marts.{name}").pl()

        portfolio = table("portfolio_roi")
        found = paragraphs(
            table("initiative_roi"),
            table("initiative_effects"),
            table("initiative_metric_money"),
            table("claim_reliability_reasons"),
            table("metric_catalogue"),
        )
    if portfolio.height:
        print("\n" + portfolio_sentence(portfolio.row(0, named=True)))
    for paragraph in found:
        print(f"\n{paragraph.title}")
        for line in paragraph.lines:
            print(f"  {line}")
    from pipelines.runtime.warehouse import Warehouse

    duckdb_cli = Path(sys.executable).with_name("duckdb")
    report = Warehouse(warehouse).report_file
    print(
        f"\nmorning report: {report}\nwarehouse: {warehouse}\n  query it: {duckdb_cli} -readonly {warehouse} "
        "-c 'select * from marts.initiative_roi'"
    )
