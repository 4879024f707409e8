-- Published from the strategy step (roi_ledger.strategy); see strategy.yml and docs/strategy.md.
with

source as (

    select * from {{ source('intermediate', 'rollout_phases') }}

),

final as (

    select * from source

)

select * from final
