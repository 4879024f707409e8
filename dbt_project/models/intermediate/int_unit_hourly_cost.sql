-- Each unit's loaded hourly cost, from the time sheets: what an hour saved there is worth.
with

hours as (

    select * from {{ ref('stg_hours') }}

),

final as (

    -- hours-weighted over the entries that carry a cost
    select
        unit_id,
        sum(hours * hourly_cost) / sum(hours) as hourly_cost,
        sum(hours) as costed_hours

    from hours
    where
        hourly_cost is not null
        and hours > 0
    group by unit_id

)

select * from final
