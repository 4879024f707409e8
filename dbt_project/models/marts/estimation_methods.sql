-- The registry as published: see roi_ledger/effects/registry.py.
with

source as (

    select * from {{ source('intermediate', 'estimation_methods') }}

),

final as (

    select * from source

)

select * from final
