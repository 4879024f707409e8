{#- Staging keeps the latest version of every record up to as_of (docs/performance.md, "What a
    night recomputes"). A night changes few records, so on DuckDB each staging table is kept
    incrementally: the run deletes the records it may have changed and inserts them again from all
    their versions in raw. A record may have changed when a row of it landed in this run, or when
    a row of it is dated between the as_of the table was built for (raw.run_context.previous_as_of)
    and this run's: it enters, or leaves, the window. Everything else is as the last published
    night left it, which is what the build file started from. The int_ models that derive one
    row from each staging record alone (int_tickets, int_hours, int_defects) are kept the same
    way, from the staging rows of the same records; int_orders is a view over stg_orders and the
    small int_customers, rebuilt each night (its repeat-customer flag reads each customer's whole
    history: docs/performance.md).

    The run rebuilds every staging table in full (dbt's --full-refresh, pipelines/runtime/incremental.py)
    when it cannot rely on that: a first run, new code or libraries, a new business timezone, an
    erasure since the last run. dbt run by hand with an `as_of` var recomputes every record. On
    Spark (and any adapter without its own history_config) the tables are rebuilt every night. -#}

{#- Per dataset: its key, and the column a record is dated by with whether it is an instant
    (staging dates an instant by its local day, `to_local`) or already a day. -#}
{% macro history_spec(dataset) -%}
    {%- set specs = {
        'orders': (['order_id'], 'ordered_at', true),
        'tickets': (['ticket_id'], 'opened_at', true),
        'hours': (['entry_id'], 'work_date', false),
        'defects': (['defect_id'], 'detected_at', true),
        'kpis': (['unit_id', 'metric', 'period_start'], 'period_start', false),
    } -%}
    {{ return(specs[dataset]) }}
{%- endmacro %}

{#- The staging models' own materialisation, also used by the int_ models that derive one row
    from each staging record. -#}
{% macro history_config(dataset) -%}
    {{ return(adapter.dispatch('history_config')(dataset)) }}
{%- endmacro %}
{% macro default__history_config(dataset) -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}
{% macro duckdb__history_config(dataset) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'pre_hook': "{{ forget_changed_records('" ~ dataset ~ "') }}",
    }) }}
{%- endmacro %}

{#- The keys of the records this night may have changed (distinct). A record is dated by its
    local day; that day is between the two as-of dates only if its instant (UTC) is within three
    days of them (offsets are at most 14 hours), a cheap test that spares the conversion to local
    time of every row (3 s for 10M orders). -#}
{% macro changed_records(dataset) -%}
    {%- set keys, column, is_instant = history_spec(dataset) -%}
    {%- set dated = 'cast(' ~ to_local('changed.' ~ column) ~ ' as date)' if is_instant else 'changed.' ~ column -%}
    select distinct {% for k in keys %}changed.{{ k }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ source('raw', dataset) }} as changed
    {%- if (var('as_of', '') | string | trim) == '' %}
    cross join {{ source('raw', 'run_context') }} as context
    where changed._load_id = context.run_id
       or (
        {%- if is_instant %}
           changed.{{ column }} >= {{ dbt.dateadd('day', -3, 'least(context.previous_as_of, context.as_of)') }}
           and changed.{{ column }} < {{ dbt.dateadd('day', 3, 'greatest(context.previous_as_of, context.as_of)') }}
           and
        {%- endif %}
           {{ dated }} > least(context.previous_as_of, context.as_of)
           and {{ dated }} <= greatest(context.previous_as_of, context.as_of))
    {%- endif %}
{%- endmacro %}

{#- Whether the record of `alias` is one this night may have changed. -#}
{% macro is_changed(dataset, alias) -%}
    {%- set keys = history_spec(dataset)[0] -%}
    exists (
        select 1 from ({{ changed_records(dataset) }}) as changed_keys
        where {% for k in keys %}changed_keys.{{ k }} = {{ alias }}.{{ k }}{{ ' and ' if not loop.last }}{% endfor %}
    )
{%- endmacro %}

{#- A filter on raw.<dataset> or on a staging table (as `alias`): only the rows of changed
    records, when incremental. -#}
{% macro only_changed_records(dataset, alias) -%}
    {%- if is_incremental() %}where {{ is_changed(dataset, alias) }}{% endif -%}
{%- endmacro %}

{#- The pre-hook: the changed records leave the table, to be inserted again as they now are. -#}
{% macro forget_changed_records(dataset) -%}
    {%- if is_incremental() %}delete from {{ this }} as kept where {{ is_changed(dataset, 'kept') }}{% endif -%}
{%- endmacro %}

{#- The versions of one record, latest first: the later export wins, whatever its files are called
    and whichever night brought them (connectors/landing.py, VERSION_ORDER: keep the two equal). -#}
{% macro latest_version_first() -%}
    coalesce(_export_modified, _loaded_at) desc, coalesce(_export_newest, _loaded_at) desc,
    _loaded_at desc, _source_row desc
{%- endmacro %}
