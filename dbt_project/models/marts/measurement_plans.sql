-- Per proposed or approved initiative x metric: which units to hold back as comparison, how many
-- periods after go-live a verdict needs, and the MDE (roi_ledger/strategy/measurement_plan.py).
with

source as (

    select * from {{ source('intermediate', 'measurement_plans') }}

),

final as (

    select
        -- ids
        initiative_id,
        metric,
        status,
        planned_go_live,
        -- the design
        period,
        treated_units,
        holdback_units,
        n_holdback_units,
        planned_method,
        -- from the business's own history
        history_periods,
        noise_sd,
        recent_level,
        -- against the business case
        expected_change_pct,
        expected_effect_abs,
        periods_needed,
        mde_abs_at_periods_needed,
        mde_abs_after_13_periods,
        reachable,
        note

    from source

)

select * from final
