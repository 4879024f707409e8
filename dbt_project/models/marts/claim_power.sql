-- Per claim: how small an effect the data so far can detect, and how long until a verdict
-- on the business case's expected change (roi_ledger/claims/power.py, docs/claims.md).
with

source as (

    select * from {{ source('intermediate', 'claim_power') }}

),

final as (

    select
        -- ids
        initiative_id,
        metric,
        method,
        -- the data so far
        period,
        pre_periods,
        post_periods,
        standard_error,
        -- what it can detect
        mde_abs,
        mde_pct,
        -- against the business case
        expected_change_pct,
        expected_effect_abs,
        power_now,
        periods_to_verdict,
        verdict_reachable,
        grade,
        -- how sure, allowing for nightly re-estimation
        inference,
        ci_low,
        ci_high,
        always_valid_low,
        always_valid_high,
        -- on the business's own data, where no effect exists
        placebo_replays,
        placebo_false_positive_rate,
        placebo_share_as_large,
        -- DiD claims: the departure from parallel trends that would overturn them
        sensitivity_scale,
        pre_trend_slope,
        pre_trend_slope_se,
        trend_breakdown_slope,
        trend_breakdown_in_pre_se

    from source

)

select * from final
