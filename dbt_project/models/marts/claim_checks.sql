-- Published claim checks: one row per initiative, metric (null for initiative-level checks) and check.
with

source as (

    select * from {{ source('intermediate', 'claim_checks') }}

),

final as (

    select
        -- ids
        initiative_id,
        metric,
        check_id,
        check_class,
        method,
        -- the verdict
        status,
        observed,
        threshold,
        message,
        counts_toward_grade,
        -- the claim's tests, judged together (docs/claims.md)
        p_value,
        p_value_adjusted

    from source

)

select * from final
