-- The reasons behind each grade, one row each, so BI tools can filter on them.
with

source as (

    select * from {{ source('intermediate', 'claim_reliability_reasons') }}

),

final as (

    select
        -- ids
        initiative_id,
        metric,
        reason_metric,
        check_id,
        -- the reason
        status,
        implied_grade,
        message

    from source

)

select * from final
