{#- Generated from var('metric_catalogue'): one block of CTEs per catalogue entry (see
    macros/metric_catalogue.sql), unioned. Weeks start on Monday. -#}
{%- set metrics = metric_entries() -%}

with

{{ metric_inputs() }}
{% for m in metrics %}
{{ metric_ctes(m, 'metric_' ~ loop.index) }}
{% endfor %}
unioned as (
{% for m in metrics %}
    select * from metric_{{ loop.index }}
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- else %}
    -- no metrics in the catalogue: an empty table of the right shape
    select
        cast(null as {{ dbt.type_string() }}) as unit_id,
        cast(null as {{ dbt.type_string() }}) as metric,
        cast(null as date) as period_start,
        cast(null as {{ type_double() }}) as value,
        cast(null as {{ type_double() }}) as volume

    from calendar_bounds
    where 1 = 0
{%- endfor %}

),

final as (

    select
        unit_id,
        metric,
        period_start,
        value,
        volume

    from unioned

)

select * from final
