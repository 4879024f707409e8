{{ config(**history_config('tickets')) }}

with

source as (

    select * from {{ source('raw', 'tickets') }} as landed  -- noqa: AL05
    {{ only_changed_records('tickets', 'landed') }}

),

renamed as (

    select
        ticket_id,
        unit_id,
        {{ to_local('opened_at') }} as opened_at,
        {{ to_local('first_response_at') }} as first_response_at,
        {{ to_local('resolved_at') }} as resolved_at,
        {{ to_utc('opened_at') }} as opened_at_utc,
        {{ to_utc('first_response_at') }} as first_response_at_utc,
        {{ to_utc('resolved_at') }} as resolved_at_utc,
        reopened,
        csat,
        _source_file,
        _loaded_at,
        row_number() over (
            partition by ticket_id
            order by {{ latest_version_first() }}
        ) as load_rank

    from source

),

final as (

    select
        ticket_id,
        unit_id,
        opened_at,
        first_response_at,
        resolved_at,
        opened_at_utc,
        first_response_at_utc,
        resolved_at_utc,
        reopened,
        csat,
        _source_file,
        _loaded_at

    from renamed
    where
        load_rank = 1
        and cast(opened_at as date) <= {{ as_of_date() }}

)

select * from final
