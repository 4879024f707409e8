{#- The weekly catalogue metrics an initiative is measured on again, with each metric's most
    extreme records capped at that initiative's outlier cap share (raw.register_claim_thresholds,
    1% by default): the series the `outliers` claim check re-estimates the effect on. Only
    metrics whose records have sizes to cap: sum, mean, median and ratio (a rate or count has
    none). Records after the as-of day are left out, so they move no cap. A metric no
    initiative is measured on is not computed: its caps are quantiles of all its records, as
    costly as the metric itself, and nothing reads them. -#}
{%- set entries = metric_entries() | selectattr('aggregation', 'in', ['sum', 'mean', 'median', 'ratio']) | list -%}
{%- set claimed = claimed_cap_shares() %}
{%- set blocks = [] %}  {#- (CTE name, cap share, catalogue entry) #}
{%- set unioned = [] %}  {#- (CTE name, cap share) #}
{%- for share in claimed.keys() | list | sort %}
{%- set share_index = loop.index %}
{%- for m in entries %}
{%- set entry_index = loop.index %}
{%- set used = namespace(any=not execute) %}
{%- for metric in claimed[share] if entry_computes(m, metric) %}
{%- set used.any = true %}
{%- endfor %}
{%- if used.any %}
{%- do blocks.append(('capped_' ~ share_index ~ '_' ~ entry_index, share, m)) %}
{%- do unioned.append(('capped_' ~ share_index ~ '_' ~ entry_index, share)) %}
{%- endif %}
{%- endfor %}
{%- endfor %}
-- depends_on: {{ source('raw', 'register_claim_thresholds') }}
-- depends_on: {{ source('raw', 'register_initiative_metrics') }}

with

{{ metric_inputs(through_as_of=true) }}
{% for name, share, m in blocks %}
{{ metric_ctes(m, name, cap=share) }}
{% endfor %}
unioned as (
{{ metric_union(unioned, with_cap=true) }}

),

final as (

    select
        unit_id,
        metric,
        period_start,
        cap_share,
        value,
        volume

    from unioned
    {%- if execute %}
    -- an entry computes every metric it defines (each value of split_by): keep the claimed ones
    where
    {% for share in claimed.keys() | list | sort -%}
        {{ 'or ' if not loop.first }}(cap_share = cast({{ share }} as {{ type_double() }}) and metric in (
            {%- for metric in claimed[share] %}{{ sql_string(metric) }}{{ ', ' if not loop.last }}{% endfor -%}
        ))
    {% else -%}
        1 = 0
    {%- endfor %}
    {%- endif %}

)

select * from final
