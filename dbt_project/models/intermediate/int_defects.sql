{{ config(**history_config('defects')) }}

with

defects as (

    select * from {{ ref('stg_defects') }} as staged  -- noqa: AL05
    {{ only_changed_records('defects', 'staged') }}

),

final as (

    select
        defect_id,
        unit_id,
        detected_at,
        units_affected,
        cost,
        cast(detected_at as date) as event_date

    from defects

)

select * from final
