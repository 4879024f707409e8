{#- The weekly catalogue metrics again, with each metric's most extreme records capped: one
    series per outlier cap share the register uses (raw.register_claim_thresholds, 1% by
    default), which the `outliers` claim check re-estimates the effect on. Only metrics whose
    records have sizes to cap: sum, mean, median and ratio (a rate or count has none). Records
    after the as-of day are left out, so they move no cap. -#}
{%- set metrics = metric_entries() | selectattr('aggregation', 'in', ['sum', 'mean', 'median', 'ratio']) | list -%}
{%- set shares = outlier_cap_shares() %}
-- depends_on: {{ source('raw', 'register_claim_thresholds') }}

with

{{ metric_inputs(through_as_of=true) }}
{% for share in shares %}
{%- set share_index = loop.index %}
{%- for m in metrics %}
{{ metric_ctes(m, 'capped_' ~ share_index ~ '_' ~ loop.index, cap=share) }}
{% endfor %}
{%- endfor %}
unioned as (
{%- set blocks = [] %}
{%- for share in shares %}
{%- set share_index = loop.index %}
{%- for m in metrics %}
{%- do blocks.append(('capped_' ~ share_index ~ '_' ~ loop.index, share)) %}
{%- endfor %}
{%- endfor %}
{{ metric_union(blocks, with_cap=true) }}

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

)

select * from final
