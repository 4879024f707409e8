{#- The grain of each KPI is inferred from the spacing of its period_start dates: the median
    gap in days between consecutive distinct dates (over all units). -#}
with

kpis as (

    select * from {{ ref('stg_kpis') }}

),

metric_dates as (

    select distinct
        metric,
        period_start

    from kpis

),

previous_dates as (

    select
        metric,
        period_start,
        lag(period_start) over (partition by metric order by period_start) as previous_period_start

    from metric_dates

),

gaps as (

    select
        metric,
        {{ dbt.datediff('previous_period_start', 'period_start', 'day') }} as gap_days  -- noqa: LT05

    from previous_dates
    where previous_period_start is not null

),

median_gaps as (

    select
        metric,
        {{ percentile_cont(0.5, 'gap_days') }} as median_gap_days

    from gaps
    group by metric

),

grains as (

    select
        metric,
        median_gap_days,
        case
            when median_gap_days between 6 and 8 then 'week'
            when median_gap_days between 28 and 31 then 'month'
            when median_gap_days between 89 and 92 then 'quarter'
            when median_gap_days between 365 and 366 then 'year'
            else 'irregular'
        end as grain

    from median_gaps

),

final as (

    select
        kpis.unit_id,
        kpis.metric,
        -- a metric with a single distinct date has no gap: its grain cannot be told
        coalesce(grains.grain, 'irregular') as grain,
        kpis.period_start,
        cast(
            case coalesce(grains.grain, 'irregular')
                when 'week' then {{ dbt.dateadd('day', 7, 'kpis.period_start') }}
                when 'month' then {{ dbt.dateadd('month', 1, 'kpis.period_start') }}
                when 'quarter' then {{ dbt.dateadd('month', 3, 'kpis.period_start') }}
                when 'year' then {{ dbt.dateadd('year', 1, 'kpis.period_start') }}
            end
            as date
        ) as period_end,
        case coalesce(grains.grain, 'irregular')
            when 'week' then kpis.period_start = {{ week_start('kpis.period_start') }}
            when 'month' then kpis.period_start = cast({{ dbt.date_trunc('month', 'kpis.period_start') }} as date)
            when 'quarter' then kpis.period_start = cast({{ dbt.date_trunc('quarter', 'kpis.period_start') }} as date)
            when 'year' then kpis.period_start = cast({{ dbt.date_trunc('year', 'kpis.period_start') }} as date)
        end as is_calendar_aligned,
        grains.median_gap_days,
        kpis.value

    from kpis
    left join grains
        on kpis.metric = grains.metric

)

select * from final
