-- Every recorded version of every business case (raw.register_history), in order.
with

source as (

    select * from {{ source('intermediate', 'business_case_history') }}

),

final as (

    select
        -- ids
        initiative_id,
        run_id,
        -- when
        recorded_at,
        as_of,
        -- the version
        fingerprint,
        business_case,
        changed_fields,
        -- its place
        is_registered_case,
        after_go_live,
        after_results

    from source

)

select * from final
