{{ config(**history_config('tickets')) }}

with

tickets as (

    select * from {{ ref('stg_tickets') }} as staged  -- noqa: AL05
    {{ only_changed_records('tickets', 'staged') }}

),

final as (

    select
        ticket_id,
        unit_id,
        opened_at,
        first_response_at,
        resolved_at,
        reopened,
        csat,
        cast(opened_at as date) as event_date,
        case
            when first_response_at_utc is not null
                then cast(
                    {{ seconds_between('opened_at_utc', 'first_response_at_utc') }}  -- noqa: LT05
                    as {{ type_double() }}
                ) / 60
        end as first_response_minutes,
        case
            when resolved_at_utc is not null
                then cast(
                    {{ seconds_between('opened_at_utc', 'resolved_at_utc') }}  -- noqa: LT05
                    as {{ type_double() }}
                ) / 3600
        end as resolution_hours

    from tickets

)

select * from final
