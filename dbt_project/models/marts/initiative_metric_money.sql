-- What each initiative x metric contributed to the benefit, or why it was not counted.
with

source as (

    select * from {{ source('intermediate', 'initiative_metric_money') }}

),

final as (

    select
        -- ids
        initiative_id,
        metric,
        pool,
        -- how it was valued
        valued,
        value_source,
        counted,
        shared_with,
        share,
        -- benefit to date
        benefit,
        benefit_low,
        benefit_high

    from source

)

select * from final
