-- Published effect estimates: one row per initiative x metric x method.
with

source as (

    select * from {{ source('intermediate', 'initiative_effects') }}

),

final as (

    select
        -- ids
        initiative_id,
        metric,
        method,
        is_primary,
        -- windows
        period,
        pre_periods,
        post_periods,
        n_treated_units,
        n_control_units,
        -- levels, in the metric's units
        baseline_value,
        observed_value,
        counterfactual_value,
        -- the effect
        effect_abs,
        effect_pct,
        ci_low,
        ci_high,
        confidence_level,
        p_value,
        inference,
        note

    from source

)

select * from final
