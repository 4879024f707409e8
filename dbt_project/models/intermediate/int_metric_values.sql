{#- Generated from var('metric_catalogue'): one block of CTEs per catalogue entry (see
    macros/metric_catalogue.sql), unioned. Weeks start on Monday. On DuckDB a night recomputes
    only the weeks whose inputs changed (macros/weekly_series.sql). -#}
{%- set metrics = metric_entries() -%}
{{ config(**weekly_series_config()) }}

with

{{ metric_inputs(only_some_weeks=is_incremental()) }}
{% for m in metrics %}
{{ metric_ctes(m, 'metric_' ~ loop.index) }}
{% endfor %}
unioned as (
    {%- set blocks = [] %}
    {%- for m in metrics %}
        {%- do blocks.append(('metric_' ~ loop.index, none)) %}
    {%- endfor %}
    {{ metric_union(blocks) }}

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
