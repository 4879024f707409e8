-- Published from the strategy step (roi_ledger.strategy); see strategy.yml and docs/strategy.md.
with

source as (

    select * from {{ source('intermediate', 'objective_contributions') }}

),

final as (

    select * from source

)

select * from final
