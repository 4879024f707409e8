-- Each primary estimate over time, long format for charts: see roi_ledger/effects/series.py.
with

source as (

    select * from {{ source('intermediate', 'counterfactual_series') }}

),

final as (

    select * from source

)

select * from final
