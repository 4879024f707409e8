-- The portfolio as of the run date: totals over every live or retired initiative, and how much
-- of what the business cases promised was delivered.
with

initiatives as (

    select * from {{ ref('initiative_roi') }}

),

totals as (

    select
        max(as_of) as as_of,
        max(currency) as currency,
        count(*) as n_initiatives,
        sum(cost_to_date) as cost_to_date,
        sum(benefit_to_date) as benefit_to_date,
        -- initiatives' benefits are independent estimates: half-widths add in quadrature
        sum(benefit_to_date) - sqrt(sum(power(benefit_to_date - benefit_ci_low, 2))) as benefit_ci_low,
        sum(benefit_to_date) + sqrt(sum(power(benefit_ci_high - benefit_to_date, 2))) as benefit_ci_high,
        sum(npv) as npv,
        sum(annual_run_rate) as annual_run_rate,
        sum(case when expected_annual_benefit is not null then annual_run_rate end) as run_rate_with_business_case,
        sum(expected_annual_benefit) as expected_annual_benefit,
        count(case when benefit_valued then 1 end) as n_valued,
        count(case when grade = 'reliable' then 1 end) as n_reliable,
        count(case when grade <> 'reliable' then 1 end) as n_not_reliable,
        count(payback_date) as n_paid_back,
        sum(benefit_signed_off) as benefit_signed_off,
        cast(sum(n_claims_changed_since_signoff) as bigint) as n_claims_changed_since_signoff
    from initiatives

),

final as (

    select
        as_of,
        currency,
        n_initiatives,
        n_valued,
        n_paid_back,
        n_reliable,
        n_not_reliable,
        cost_to_date,
        benefit_to_date,
        benefit_ci_low,
        benefit_ci_high,
        benefit_to_date - cost_to_date as net_benefit,
        (benefit_to_date - cost_to_date) / nullif(cost_to_date, 0) as roi,
        (benefit_ci_low - cost_to_date) / nullif(cost_to_date, 0) as roi_ci_low,
        (benefit_ci_high - cost_to_date) / nullif(cost_to_date, 0) as roi_ci_high,
        npv,
        annual_run_rate,
        expected_annual_benefit,
        run_rate_with_business_case / nullif(expected_annual_benefit, 0) as realisation_rate,
        benefit_signed_off,
        benefit_signed_off / nullif(benefit_to_date, 0) as share_signed_off,
        n_claims_changed_since_signoff

    from totals

)

select * from final
