{{ config(**history_config('hours')) }}

with

hours as (

    select * from {{ ref('stg_hours') }} as staged  -- noqa: AL05
    {{ only_changed_records('hours', 'staged') }}

),

final as (

    select
        entry_id,
        unit_id,
        employee_id,
        work_date,
        activity,
        hours,
        hourly_cost,
        work_date as event_date

    from hours

)

select * from final
