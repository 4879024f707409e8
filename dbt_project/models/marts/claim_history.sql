-- Every run's claims, by as_of: each initiative x metric's primary estimate and grade night by
-- night, so a grade that comes and goes is visible. A rerun for the same as_of replaces that day's rows.
{{
    config(
        materialized='incremental',
        unique_key=['initiative_id', 'metric', 'as_of'],
        on_schema_change='append_new_columns',
        **replace_by_key_config('as_of')
    )
}}

with

grades as (

    select * from {{ ref('claim_reliability') }}
    where metric is not null

),

effects as (

    select * from {{ ref('initiative_effects') }}
    where is_primary

),

final as (

    select
        -- ids
        grades.initiative_id,
        grades.metric,
        {{ as_of_date() }} as as_of,
        -- the estimate that night
        effects.method,
        effects.effect_abs,
        effects.ci_low,
        effects.ci_high,
        effects.p_value,
        effects.confidence_level,
        -- its grade that night
        grades.grade

    from grades
    left join effects
        on grades.initiative_id = effects.initiative_id and grades.metric = effects.metric

)

select * from final
