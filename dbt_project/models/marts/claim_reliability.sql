-- Published grades: per initiative x metric, and per initiative (metric null).
with

source as (

    select * from {{ source('intermediate', 'claim_reliability') }}

),

final as (

    select
        -- ids
        initiative_id,
        metric,
        method,
        -- the grade and why
        grade,
        reasons,
        n_reasons

    from source

)

select * from final
