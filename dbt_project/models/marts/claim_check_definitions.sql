-- The registry as published: see roi_ledger/claims/base.py.
with

source as (

    select * from {{ source('intermediate', 'claim_check_definitions') }}

),

final as (

    select * from source

)

select * from final
