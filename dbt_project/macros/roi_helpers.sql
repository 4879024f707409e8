{#- Small helpers shared by the models. Kept adapter-neutral where it costs nothing; the
    few engine-specific bits go through adapter.dispatch so another adapter can override. -#}

{#- The run's last day of data. The nightly run writes it to raw.run_context, so the SQL is the
    same every night and dbt keeps its partial parse (a var that changes makes dbt re-parse the
    whole project). A `as_of` var ('YYYY-MM-DD'), when given, is used instead: dbt run by hand. -#}
{% macro as_of_date() -%}
    {%- set raw = var('as_of', '') -%}
    {%- if raw is none or (raw | string | trim) == '' -%}
        (select max(as_of) from {{ source('raw', 'run_context') }})
    {%- else -%}
        {%- set raw = raw | string | trim -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', raw) -%}
            {{ exceptions.raise_compiler_error("var 'as_of' must be a date 'YYYY-MM-DD', got: " ~ raw) }}
        {%- endif -%}
        cast('{{ raw }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- The day after as_of: a period is complete when its (exclusive) end is on or before it. -#}
{% macro as_of_period_limit() -%}
    cast({{ dbt.dateadd('day', 1, as_of_date()) }} as date)
{%- endmacro %}

{% macro business_timezone() -%}
    {%- set tz = var('timezone', 'UTC') | string | trim -%}
    {%- if not modules.re.match('^[A-Za-z0-9_+\-/]+$', tz) -%}
        {{ exceptions.raise_compiler_error("var 'timezone' is not a timezone name: " ~ tz) }}
    {%- endif -%}
    {{- return(tz) -}}
{%- endmacro %}

{#- TIMESTAMPTZ -> naive local wall-clock timestamp in the business timezone. -#}
{% macro to_local(column) -%}
    {{ return(adapter.dispatch('to_local')(column)) }}
{%- endmacro %}
{% macro default__to_local(column) -%}
    ({{ column }} at time zone '{{ business_timezone() }}')
{%- endmacro %}
{#- Spark's timestamps are instants shown in the session timezone (UTC in the profile). -#}
{% macro spark__to_local(column) -%}
    from_utc_timestamp({{ column }}, '{{ business_timezone() }}')
{%- endmacro %}

{#- TIMESTAMPTZ -> naive UTC timestamp: durations are measured on these (no DST jumps). -#}
{% macro to_utc(column) -%}
    {{ return(adapter.dispatch('to_utc')(column)) }}
{%- endmacro %}
{% macro default__to_utc(column) -%}
    ({{ column }} at time zone 'UTC')
{%- endmacro %}
{% macro spark__to_utc(column) -%}
    {{ column }}
{%- endmacro %}

{#- The ``fraction`` quantile of ``expr`` over a group, interpolated between the two nearest
    values (SQL's percentile_cont: DuckDB, Postgres, Snowflake; Spark's exact percentile). -#}
{% macro percentile_cont(fraction, expr) -%}
    {{ return(adapter.dispatch('percentile_cont')(fraction, expr)) }}
{%- endmacro %}
{% macro default__percentile_cont(fraction, expr) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}
{% macro spark__percentile_cont(fraction, expr) -%}
    percentile({{ expr }}, {{ fraction }})
{%- endmacro %}

{#- How a history mart replaces the rows of a rerun day (``key``, e.g. as_of): delete and insert
    where the adapter has it; on Spark, each day a partition overwritten in place. -#}
{% macro replace_by_key_config(key) -%}
    {{ return(adapter.dispatch('replace_by_key_config')(key)) }}
{%- endmacro %}
{% macro default__replace_by_key_config(key) -%}
    {{ return({'incremental_strategy': 'delete+insert'}) }}
{%- endmacro %}
{% macro spark__replace_by_key_config(key) -%}
    {{ return({'incremental_strategy': 'insert_overwrite', 'partition_by': [key], 'file_format': 'parquet'}) }}
{%- endmacro %}

{#- Whole seconds from one UTC timestamp to another (second boundaries crossed, as DuckDB's
    date_diff counts them). dbt-spark's own datediff does not compile for seconds. -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between')(start, end)) }}
{%- endmacro %}
{% macro default__seconds_between(start, end) -%}
    {{ dbt.datediff(start, end, 'second') }}
{%- endmacro %}
{% macro spark__seconds_between(start, end) -%}
    (unix_timestamp({{ end }}) - unix_timestamp({{ start }}))
{%- endmacro %}

{#- The Monday that starts the week of a date (DuckDB/Postgres date_trunc('week') is ISO: Monday). -#}
{% macro week_start(date_expr) -%}
    cast({{ dbt.date_trunc('week', date_expr) }} as date)
{%- endmacro %}

{#- An 8-byte float. (dbt.type_float() is a 4-byte REAL on DuckDB.) -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}
{% macro default__type_double() -%}double precision{%- endmacro %}
{% macro spark__type_double() -%}double{%- endmacro %}

{#- A Python string as a SQL string literal. -#}
{% macro sql_string(value) -%}
    '{{ (value | string).replace("'", "''") }}'
{%- endmacro %}

{#- Trimmed, lower-case, every character outside [a-z0-9] turned into '_' (names of split_by
    metrics). The same rule as SLUG_SQL in roi_ledger/catalogue, word for word (tested). -#}
{% macro slugify(expr) -%}
    {{ return(adapter.dispatch('slugify')(expr)) }}
{%- endmacro %}
{% macro default__slugify(expr) -%}
    regexp_replace(lower(trim(cast({{ expr }} as {{ dbt.type_string() }}))), '[^a-z0-9]', '_', 'g')
{%- endmacro %}
{#- Spark's regexp_replace replaces every match (it takes no flags). -#}
{% macro spark__slugify(expr) -%}
    regexp_replace(lower(trim(cast({{ expr }} as {{ dbt.type_string() }}))), '[^a-z0-9]', '_')
{%- endmacro %}

{#- The datasets catalogue metrics are computed from (each has an int_<dataset> model). -#}
{% macro event_datasets() -%}
    {{ return(['orders', 'tickets', 'hours', 'defects']) }}
{%- endmacro %}

{#- A Python value as a SQL text literal, or a typed null when it is empty. -#}
{% macro text_or_null(value) -%}
    {%- if value is none or value == '' -%}
        cast(null as {{ dbt.type_string() }})
    {%- else -%}
        cast({{ sql_string(value) }} as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}
