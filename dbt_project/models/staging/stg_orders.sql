{{ config(**history_config('orders')) }}

with

source as (

    select * from {{ source('raw', 'orders') }} as landed  -- noqa: AL05
    {{ only_changed_records('orders', 'landed') }}

),

renamed as (

    select
        order_id,
        unit_id,
        {{ to_local('ordered_at') }} as ordered_at,
        {{ to_local('fulfilled_at') }} as fulfilled_at,
        {{ to_utc('ordered_at') }} as ordered_at_utc,
        {{ to_utc('fulfilled_at') }} as fulfilled_at_utc,
        amount,
        status,
        has_error,
        customer_id,
        _source_file,
        _loaded_at,
        row_number() over (
            partition by order_id
            order by {{ latest_version_first() }}
        ) as load_rank

    from source

),

final as (

    select
        order_id,
        unit_id,
        ordered_at,
        fulfilled_at,
        ordered_at_utc,
        fulfilled_at_utc,
        amount,
        status,
        has_error,
        customer_id,
        _source_file,
        _loaded_at

    from renamed
    where
        load_rank = 1
        and cast(ordered_at as date) <= {{ as_of_date() }}

)

select * from final
