{#- The weekly metric values (int_metric_values) kept incrementally (docs/performance.md, "What
    a night recomputes"). A week's value for a unit depends on that unit's records of that week
    and on a few things of the whole history: the first and last week with records (overall,
    per dataset and, for the first, per unit), each unit's values of a split_by column (the
    zero-filled grid) and the catalogue itself. So on DuckDB a night digests its records per
    dataset, unit and week (int_metric_values__inputs_next), compares them with the digests the
    table was built from (int_metric_values__inputs) and recomputes only the weeks where the
    records differ, plus every week between where a bound was and where it is now; every week
    when the catalogue or a unit's split values changed. Everything else is as the last
    published night left it. Checked against a full rebuild on two nights in
    tests/test_staging_history.py. On Spark (and any adapter without its own
    weekly_series_config) the table is rebuilt every night. -#}

{% macro weekly_series_config() -%}
    {{ return(adapter.dispatch('weekly_series_config')()) }}
{%- endmacro %}
{% macro default__weekly_series_config() -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}
{% macro duckdb__weekly_series_config() -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'pre_hook': [
            "{{ weekly_series_digest() }}",
            "{{ weekly_series_find_weeks() }}",
            "{{ weekly_series_forget_weeks() }}",
        ],
        'post_hook': [
            "drop table if exists {{ weekly_series_state('inputs') }}",
            "alter table {{ weekly_series_state('inputs_next') }} rename to {{ this.identifier }}__inputs",
        ],
    }) }}
{%- endmacro %}

{#- The tables beside int_metric_values that hold its state: `inputs` (the digests it was built
    from), `inputs_next` (tonight's, while it is built) and `weeks` (the ranges of weeks the last
    night recomputed: from_week, to_week, Mondays; none when nothing changed). -#}
{% macro weekly_series_state(part) -%}
    {{ this.schema }}.{{ this.identifier }}__{{ part }}
{%- endmacro %}

{#- A filter: the day `column` holds (a record's date, or a week's Monday) falls in a week this
    night recomputes. Written as a match on the day itself, so that DuckDB narrows the scan of
    the records to the days wanted instead of reading every record. -#}
{% macro weekly_series_in_weeks(column) -%}
    {{ column }} in (
        select cast(unnest(generate_series(recomputed.from_week, recomputed.to_week + 6, interval 1 day)) as date)
        from {{ weekly_series_state('weeks') }} as recomputed
    )
{%- endmacro %}

{#- Pre-hook 1: what tonight's values are computed from. One row per dataset, unit and week (a
    count and a sum of row hashes of its records), one for the catalogue, one per unit and
    zero-filled split metric (its split values). -#}
{% macro weekly_series_digest() -%}
    create or replace table {{ weekly_series_state('inputs_next') }} as
    {% for dataset in event_datasets() %}
    select
        '{{ dataset }}' as part,
        records.unit_id,
        {{ week_start('records.event_date') }} as period_start,
        count(*) as records,
        sum(hash(records)) as digest
    from {{ ref('int_' ~ dataset) }} as records
    group by 1, 2, 3
    union all
    {% endfor %}
    select '_catalogue', null, null, 0, hash('{{ local_md5(tojson(metric_entries())) }}')
    {%- for m in metric_entries() if m.get('zero_fill') and m.get('split_by') %}
    union all
    select '_splits:{{ m["name"] }}', splits.unit_id, null, count(*), hash(string_agg(splits.split_value, ',' order by splits.split_value))
    from (select distinct unit_id, {{ slugify(m['split_by']) }} as split_value from {{ ref('int_' ~ m['dataset']) }}) as splits
    group by splits.unit_id
    {%- endfor %}
{%- endmacro %}

{#- Pre-hook 2: the ranges of weeks to recompute (from_week, to_week). -#}
{% macro weekly_series_find_weeks() -%}
    {%- set kept = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier ~ '__inputs') -%}
    create or replace table {{ weekly_series_state('weeks') }} as
    {%- if not is_incremental() or kept is none %}
    -- built in full, or no digests of what the table was built from: every week
    select min(period_start) as from_week, max(period_start) as to_week
    from {{ weekly_series_state('inputs_next') }}
    {%- else %}
    with

    next_weeks as (select * from {{ weekly_series_state('inputs_next') }} where period_start is not null),
    kept_weeks as (select * from {{ kept }} where period_start is not null),

    records_changed as (

        -- a dataset's records of a unit and week that differ (or are new, or gone)
        select distinct coalesce(n.period_start, k.period_start) as week
        from next_weeks as n
        full outer join kept_weeks as k
            on n.part = k.part and n.unit_id is not distinct from k.unit_id and n.period_start = k.period_start
        where n.records is distinct from k.records or n.digest is distinct from k.digest

    ),
    {% for side in ['next', 'kept'] %}
    {{ side }}_bounds as (

        select 'first' as bound, min(period_start) as week from {{ side }}_weeks
        union all
        select 'last', max(period_start) from {{ side }}_weeks
        union all
        select 'first:' || part, min(period_start) from {{ side }}_weeks group by part
        union all
        select 'last:' || part, max(period_start) from {{ side }}_weeks group by part
        union all
        select 'unit:' || unit_id, min(period_start) from {{ side }}_weeks group by unit_id

    ),
    {% endfor %}
    bounds_moved as (

        -- every week between where a bound was and where it is; every week when one appeared or went
        select
            case when n.week is null or k.week is null then date '0001-01-01' else least(n.week, k.week) end as from_week,
            case when n.week is null or k.week is null then date '9999-12-31' else greatest(n.week, k.week) end as to_week
        from next_bounds as n
        full outer join kept_bounds as k on n.bound = k.bound
        where n.week is distinct from k.week

    ),

    context_changed as (

        -- the catalogue, or a unit's values of a split: every week
        select date '0001-01-01' as from_week, date '9999-12-31' as to_week
        where exists (
            (select part, unit_id, records, digest from {{ weekly_series_state('inputs_next') }} where period_start is null
             except
             select part, unit_id, records, digest from {{ kept }} where period_start is null)
            union all
            (select part, unit_id, records, digest from {{ kept }} where period_start is null
             except
             select part, unit_id, records, digest from {{ weekly_series_state('inputs_next') }} where period_start is null)
        )

    ),

    wanted as (

        select week as from_week, week as to_week from records_changed
        union all
        select * from bounds_moved
        union all
        select * from context_changed

    ),

    every_week as (

        select min(period_start) as first_week, max(period_start) as last_week
        from (select period_start from next_weeks union all select period_start from kept_weeks) as weeks

    )

    -- "every week" is every week from the first to the last with records, before or now
    select distinct
        greatest(wanted.from_week, every_week.first_week) as from_week,
        least(wanted.to_week, every_week.last_week) as to_week
    from wanted
    cross join every_week
    where wanted.from_week <= every_week.last_week and wanted.to_week >= every_week.first_week
    {%- endif %}
{%- endmacro %}

{#- Pre-hook 3: the weeks recomputed tonight leave the table, to be inserted again as they now are. -#}
{% macro weekly_series_forget_weeks() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as kept where {{ weekly_series_in_weeks('kept.period_start') }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
