-- One row per known customer: when she first ordered (any status, any unit, the whole history
-- up to as_of). Small (one row per customer), so it is rebuilt every night; int_orders reads
-- each order's repeat flag from it.
with

orders as (

    select
        customer_id,
        ordered_at_utc
    from {{ ref('stg_orders') }}
    where customer_id is not null

),

final as (

    select
        customer_id,
        min(ordered_at_utc) as first_ordered_at_utc

    from orders
    group by customer_id

)

select * from final
