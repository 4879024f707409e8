-- The curve a dashboard draws: weekly and cumulative cost, benefit (with its interval) and net.
with

source as (

    select * from {{ source('intermediate', 'initiative_roi_periods') }}

),

final as (

    select
        -- ids
        initiative_id,
        period,
        period_start,
        period_end,
        -- this period
        cost,
        benefit,
        benefit_low,
        benefit_high,
        -- to the end of this period
        cumulative_cost,
        cumulative_benefit,
        cumulative_benefit_low,
        cumulative_benefit_high,
        cumulative_net

    from source

)

select * from final
