{{ config(**history_config('defects')) }}

with

source as (

    select * from {{ source('raw', 'defects') }} as landed  -- noqa: AL05
    {{ only_changed_records('defects', 'landed') }}

),

renamed as (

    select
        defect_id,
        unit_id,
        {{ to_local('detected_at') }} as detected_at,
        units_affected,
        cost,
        _source_file,
        _loaded_at,
        row_number() over (
            partition by defect_id
            order by {{ latest_version_first() }}
        ) as load_rank

    from source

),

final as (

    select
        defect_id,
        unit_id,
        detected_at,
        units_affected,
        cost,
        _source_file,
        _loaded_at

    from renamed
    where
        load_rank = 1
        and cast(detected_at as date) <= {{ as_of_date() }}

)

select * from final
