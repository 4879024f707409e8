{{ config(**history_config('kpis')) }}

with

source as (

    select * from {{ source('raw', 'kpis') }} as landed  -- noqa: AL05
    {{ only_changed_records('kpis', 'landed') }}

),

renamed as (

    select
        unit_id,
        metric,
        period_start,
        value,
        _source_file,
        _loaded_at,
        row_number() over (
            partition by unit_id, metric, period_start
            order by {{ latest_version_first() }}
        ) as load_rank

    from source

),

final as (

    select
        unit_id,
        metric,
        period_start,
        value,
        _source_file,
        _loaded_at

    from renamed
    where
        load_rank = 1
        and period_start <= {{ as_of_date() }}

)

select * from final
