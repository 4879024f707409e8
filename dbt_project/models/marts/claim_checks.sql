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
        counts_toward_grade

    from source

)

select * from final
