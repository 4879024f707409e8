{{ config(materialized='table') }}

with

metric_values as (

    select * from {{ ref('int_metric_values') }}

),

kpi_series as (

    select * from {{ ref('int_kpi_series') }}

),

catalogue as (

    select * from {{ ref('metric_catalogue') }}

),

weekly_metrics as (

    select
        unit_id,
        metric,
        cast('week' as {{ dbt.type_string() }}) as period,
        period_start,
        cast({{ dbt.dateadd('day', 7, 'period_start') }} as date) as period_end,
        value,
        volume

    from metric_values

),

kpi_metrics as (

    -- a catalogue metric's name takes precedence over a reported KPI of the same name
    select
        unit_id,
        metric,
        grain as period,
        period_start,
        period_end,
        value,
        cast(1 as {{ type_double() }}) as volume

    from kpi_series
    where
        grain <> 'irregular'
        and metric not in (
            select catalogue.metric from catalogue
            where catalogue.source = 'catalogue'
        )

),

unioned as (

    select * from weekly_metrics
    union all
    select * from kpi_metrics

),

final as (

    select
        cast(unit_id as {{ dbt.type_string() }}) as unit_id,
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(period as {{ dbt.type_string() }}) as period,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(value as {{ type_double() }}) as value,
        cast(volume as {{ type_double() }}) as volume

    from unioned
    -- complete periods only: ended by the end of the as_of day
    where period_end <= {{ as_of_period_limit() }}

)

select * from final
