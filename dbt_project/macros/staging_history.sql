{#- Staging keeps the latest version of every record up to as_of (docs/performance.md, "What a
    night recomputes"). A night changes few records, so on DuckDB each staging table is kept
    incrementally: the run deletes the records it may have changed and inserts them again from all
    their versions in raw. A record may have changed when a row of it landed in this run, or when
    a row of it is dated between the as_of the table was built for (raw.run_context.previous_as_of)
    and this run's: it enters, or leaves, the window. Everything else is as the last published
    night left it, which is what the build file started from.

    The run rebuilds every staging table in full (dbt's --full-refresh, pipelines/staging_history.py)
    when it cannot rely on that: a first run, new code or libraries, a new business timezone, an
    erasure since the last run. dbt run by hand with an `as_of` var recomputes every record. On
    Spark (and any adapter without its own history_config) the tables are rebuilt every night. -#}

{#- Per dataset: its key and the day a record is dated by (as staging filters it, in local time). -#}
{% macro history_spec(dataset, alias) -%}
    {%- set specs = {
        'orders': (['order_id'], 'cast(' ~ to_local(alias ~ '.ordered_at') ~ ' as date)'),
        'tickets': (['ticket_id'], 'cast(' ~ to_local(alias ~ '.opened_at') ~ ' as date)'),
        'hours': (['entry_id'], alias ~ '.work_date'),
        'defects': (['defect_id'], 'cast(' ~ to_local(alias ~ '.detected_at') ~ ' as date)'),
        'kpis': (['unit_id', 'metric', 'period_start'], alias ~ '.period_start'),
    } -%}
    {{ return(specs[dataset]) }}
{%- endmacro %}

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

{#- The keys of the records this night may have changed (distinct). -#}
{% macro changed_records(dataset) -%}
    {%- set keys, dated = history_spec(dataset, 'changed') -%}
    select distinct {% for k in keys %}changed.{{ k }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ source('raw', dataset) }} as changed
    {%- if (var('as_of', '') | string | trim) == '' %}
    cross join {{ source('raw', 'run_context') }} as context
    where changed._load_id = context.run_id
       or ({{ dated }} > least(context.previous_as_of, context.as_of)
           and {{ dated }} <= greatest(context.previous_as_of, context.as_of))
    {%- endif %}
{%- endmacro %}

{#- Whether the record of `alias` is one this night may have changed. -#}
{% macro is_changed(dataset, alias) -%}
    {%- set keys, dated = history_spec(dataset, alias) -%}
    exists (
        select 1 from ({{ changed_records(dataset) }}) as changed_keys
        where {% for k in keys %}changed_keys.{{ k }} = {{ alias }}.{{ k }}{{ ' and ' if not loop.last }}{% endfor %}
    )
{%- endmacro %}

{#- A filter on raw.<dataset> (as `alias`): only the versions of changed records, when incremental. -#}
{% macro only_changed_records(dataset, alias) -%}
    {%- if is_incremental() %}where {{ is_changed(dataset, alias) }}{% endif -%}
{%- endmacro %}

{#- The pre-hook: the changed records leave the table, to be inserted again as they now are. -#}
{% macro forget_changed_records(dataset) -%}
    {%- if is_incremental() %}delete from {{ this }} as kept where {{ is_changed(dataset, 'kept') }}{% endif -%}
{%- endmacro %}
