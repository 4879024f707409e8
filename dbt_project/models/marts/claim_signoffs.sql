-- Per claim (initiative x metric): the latest person's decision on it, the version it judged,
-- the claim now, and whether it changed since the sign-off.
with

source as (

    select * from {{ source('intermediate', 'claim_signoffs') }}

),

final as (

    select
        -- ids
        initiative_id,
        metric,
        -- the decision
        decision,
        signed_by,
        signed_at,
        comment,
        n_decisions,
        -- the version it judged
        signed_run_id,
        signed_method,
        signed_effect_abs,
        signed_ci_low,
        signed_ci_high,
        signed_grade,
        -- the claim now
        method,
        effect_abs,
        ci_low,
        ci_high,
        grade,
        changed_since_signoff,
        change_reasons

    from source

)

select * from final
