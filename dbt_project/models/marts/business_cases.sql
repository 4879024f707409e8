-- Per initiative: the business case it is judged against (as registered before go-live) beside
-- the case as it is now, and how it was edited since.
with

source as (

    select * from {{ source('intermediate', 'business_cases') }}

),

final as (

    select
        -- ids
        initiative_id,
        first_go_live,
        -- the case realisation is judged against
        registered_at,
        registered_before_go_live,
        registered_fingerprint,
        registered_case,
        registered_annual_benefit,
        -- the case now
        current_fingerprint,
        current_case,
        current_annual_benefit,
        -- edits since
        n_edits_after_go_live,
        edited_fields,
        design_edited,
        edited_after_results,
        last_edit_at

    from source

)

select * from final
