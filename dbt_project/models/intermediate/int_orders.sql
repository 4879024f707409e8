with

orders as (

    select * from {{ ref('stg_orders') }}

),

final as (

    select
        order_id,
        unit_id,
        customer_id,
        ordered_at,
        fulfilled_at,
        amount,
        status,
        has_error,
        cast(ordered_at as date) as event_date,
        case
            when fulfilled_at_utc is not null
                then cast({{ seconds_between('ordered_at_utc', 'fulfilled_at_utc') }} as {{ type_double() }}) / 3600
        end as fulfilment_hours,
        -- a repeat order: the same customer ordered strictly earlier (any status, any unit,
        -- the whole history up to as_of); unknown customer -> null
        case
            when customer_id is not null
                then ordered_at_utc > min(ordered_at_utc) over (partition by customer_id)
        end as is_repeat_customer

    from orders

)

select * from final
