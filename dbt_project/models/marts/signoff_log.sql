-- Every decision in the sign-off log beside the warehouse (<warehouse>-signoffs.jsonl), in order.
with

source as (

    select * from {{ source('intermediate', 'signoff_log') }}

),

final as (

    select
        -- ids
        line,
        signoff_id,
        initiative_id,
        metric,
        -- the decision
        signed_at,
        signed_by,
        decision,
        comment,
        -- the version it judged
        run_id,
        as_of,
        method,
        effect_abs,
        ci_low,
        ci_high,
        confidence_level,
        grade,
        benefit,
        -- the log
        chain_intact

    from source

)

select * from final
