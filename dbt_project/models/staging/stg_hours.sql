{{ config(**history_config('hours')) }}

with

source as (

    select * from {{ source('raw', 'hours') }} as landed  -- noqa: AL05
    {{ only_changed_records('hours', 'landed') }}

),

renamed as (

    select
        entry_id,
        unit_id,
        employee_id,
        work_date,
        activity,
        hours,
        hourly_cost,
        _source_file,
        _loaded_at,
        row_number() over (
            partition by entry_id
            order by {{ latest_version_first() }}
        ) as load_rank

    from source

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
        _source_file,
        _loaded_at

    from renamed
    where
        load_rank = 1
        and work_date <= {{ as_of_date() }}

)

select * from final
