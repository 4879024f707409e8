-- Realised ROI per live or retired initiative, as of the run date.
with

source as (

    select * from {{ source('intermediate', 'initiative_roi') }}

),

final as (

    select
        -- ids
        initiative_id,
        name,
        status,
        as_of,
        first_go_live,
        currency,
        -- money to date
        cost_to_date,
        benefit_to_date,
        benefit_ci_low,
        benefit_ci_high,
        net_benefit,
        roi,
        roi_ci_low,
        roi_ci_high,
        -- time
        payback_date,
        projected_payback_date,
        npv,
        npv_horizon_end,
        -- against the business case
        annual_run_rate,
        expected_annual_benefit,
        realisation_rate,
        grade,

    from source

)

select * from final
