{#- Generated from var('metric_catalogue'): one block of CTEs per catalogue entry (see
    macros/metric_catalogue.sql), unioned. Weeks start on Monday. -#}
{%- set metrics = metric_entries() -%}

with
{% for dataset in event_datasets() %}
{{ dataset }}_records as (

    select
        *,
        {{ week_start('event_date') }} as period_start

    from {{ ref('int_' ~ dataset) }}

),

{{ dataset }}_coverage as (

    select
        min(period_start) as first_week,
        max(period_start) as last_week

    from {{ dataset }}_records

),
{% endfor %}
unit_weeks as (
{% for dataset in event_datasets() %}
    select unit_id, period_start from {{ dataset }}_records
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}

),

unit_spans as (

    select
        unit_id,
        min(period_start) as first_week

    from unit_weeks
    group by unit_id

),

calendar_bounds as (

    select
        min(period_start) as first_week,
        max(period_start) as last_week

    from unit_weeks

),

calendar as (

    -- every Monday from the first to the last week with a record (up to 4096 weeks, ~78 years)
    select
        cast({{ dbt.dateadd('day', '7 * (series.generated_number - 1)', 'calendar_bounds.first_week') }} as date) as period_start

    from ({{ dbt.generate_series(4096) }}) as series
    cross join calendar_bounds
    where {{ dbt.dateadd('day', '7 * (series.generated_number - 1)', 'calendar_bounds.first_week') }}
        <= calendar_bounds.last_week

),
{% for m in metrics %}
{{ metric_ctes(m, 'metric_' ~ loop.index) }}
{% endfor %}
unioned as (
{% for m in metrics %}
    select * from metric_{{ loop.index }}
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- else %}
    -- no metrics in the catalogue: an empty table of the right shape
    select
        cast(null as {{ dbt.type_string() }}) as unit_id,
        cast(null as {{ dbt.type_string() }}) as metric,
        cast(null as date) as period_start,
        cast(null as {{ type_double() }}) as value,
        cast(null as {{ type_double() }}) as volume

    from calendar_bounds
    where 1 = 0
{%- endfor %}

),

final as (

    select
        unit_id,
        metric,
        period_start,
        value,
        volume

    from unioned

)

select * from final
