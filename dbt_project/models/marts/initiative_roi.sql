-- Realised ROI per live or retired initiative, as of the run date.
with

source as (

    select * from {{ source('python', 'initiative_roi') }}

),

cases as (

    select * from {{ source('python', 'business_cases') }}

),

-- The counted benefit of the claims a person accepted and that have not changed since.
signed as (

    select
        metric_money.initiative_id,
        sum(metric_money.benefit) as benefit_signed_off,
        count(*) as n_claims_signed_off

    from {{ source('python', 'initiative_metric_money') }} as metric_money
    inner join {{ source('python', 'claim_signoffs') }} as signoffs
        on metric_money.initiative_id = signoffs.initiative_id and metric_money.metric = signoffs.metric
    where metric_money.counted and signoffs.decision = 'accept' and not signoffs.changed_since_signoff
    group by metric_money.initiative_id

),

-- Whether any of its metrics has a money value: an initiative measured only on metrics with no
-- price has a benefit of 0 that is not a loss, and is said "not valued in money".
valued as (

    select
        initiative_id,
        max(case when valued then 1 else 0 end) as any_valued

    from {{ source('python', 'initiative_metric_money') }}
    group by initiative_id

),

changed as (

    select
        initiative_id,
        count(*) as n_claims_changed_since_signoff
    from {{ source('python', 'claim_signoffs') }}
    where changed_since_signoff
    group by initiative_id

),

final as (

    select
        -- ids
        source.initiative_id,
        source.name,
        source.status,
        source.as_of,
        source.first_go_live,
        source.currency,
        -- money to date
        source.cost_to_date,
        source.benefit_to_date,
        source.benefit_ci_low,
        source.benefit_ci_high,
        coalesce(valued.any_valued = 1, false) as benefit_valued,
        source.net_benefit,
        source.roi,
        source.roi_ci_low,
        source.roi_ci_high,
        -- time
        source.payback_date,
        source.projected_payback_date,
        source.npv,
        source.npv_horizon_end,
        -- against the business case
        source.annual_run_rate,
        source.expected_annual_benefit,
        source.realisation_rate,
        cases.current_annual_benefit as expected_annual_benefit_now,
        coalesce(cases.n_edits_after_go_live > 0, false) as business_case_edited,
        source.grade,
        -- people's sign-off (marts.claim_signoffs)
        coalesce(signed.benefit_signed_off, 0) as benefit_signed_off,
        cast(coalesce(signed.n_claims_signed_off, 0) as bigint) as n_claims_signed_off,
        cast(coalesce(changed.n_claims_changed_since_signoff, 0) as bigint) as n_claims_changed_since_signoff

    from source
    left join cases on source.initiative_id = cases.initiative_id
    left join signed on source.initiative_id = signed.initiative_id
    left join changed on source.initiative_id = changed.initiative_id
    left join valued on source.initiative_id = valued.initiative_id

)

select * from final
