{#- One row per metric known in this run: the catalogue entries of var('metric_catalogue')
    (a split_by template expanded to one row per generated metric), then the reported KPIs
    whose names the catalogue does not already use. -#}
{%- set metrics = metric_entries() -%}
{%- set text = dbt.type_string() -%}


with

hours as (  -- noqa: ST03

    select * from {{ ref('int_hours') }}

),

orders as (  -- noqa: ST03

    select * from {{ ref('int_orders') }}

),

tickets as (  -- noqa: ST03

    select * from {{ ref('int_tickets') }}

),

defects as (  -- noqa: ST03

    select * from {{ ref('int_defects') }}

),

kpi_series as (

    select * from {{ ref('int_kpi_series') }}

),

catalogue_metrics as (
    {% for m in metrics %}
    {%- set money = m.get('money') or {} -%}
    {%- set split_by = m.get('split_by') -%}
    {%- set placeholder = '{' ~ split_by ~ '}' if split_by else none -%}
    {%- if m['aggregation'] == 'ratio' -%}
        {%- set dataset = m['numerator']['dataset'] ~ '/' ~ m['denominator']['dataset'] -%}
        {%- set expression = '(' ~ m['numerator']['expression'] ~ ') / (' ~ m['denominator']['expression'] ~ ')' -%}
    {%- else -%}
        {%- set dataset = m['dataset'] -%}
        {%- set expression = m.get('expression') -%}
    {%- endif %}
    select
        {% if split_by -%}
        {{ metric_name_sql(m, 'splits.split_value') }} as metric,
        replace({{ text_or_null(m.get('label') or (m['name'] | replace('_', ' ') | capitalize)) }}, {{ sql_string(placeholder) }}, splits.split_label) as label,
        {%- else -%}
        {{ text_or_null(m['name']) }} as metric,
        {# an entry with no label is named in words from its name: refund_rate, Refund rate #}
        {{ text_or_null(m.get('label') or (m['name'] | replace('_', ' ') | capitalize)) }} as label,
        {%- endif %}
        cast('catalogue' as {{ text }}) as source,
        {{ text_or_null(m['name']) }} as catalogue_name,
        {{ text_or_null(dataset) }} as dataset,
        {{ text_or_null(m['aggregation']) }} as aggregation,
        {{ text_or_null(expression) }} as expression,
        {{ text_or_null(m.get('filter')) }} as filter,
        {{ text_or_null(split_by) }} as split_by,
        {{ 'splits.split_label' if split_by else 'cast(null as ' ~ text ~ ')' }} as split_value,
        cast('week' as {{ text }}) as period,
        {{ text_or_null(m.get('volume')) }} as volume_label,
        {{ text_or_null(m.get('good_direction')) }} as good_direction,
        {{ text_or_null(m.get('unit') or 'number') }} as unit,
        {{ text_or_null(money.get('kind')) }} as money_kind,
        {{ text_or_null(money.get('basis')) }} as money_basis,
        {% if split_by and money.get('pool') and placeholder in money.get('pool') -%}
        replace({{ text_or_null(money.get('pool')) }}, {{ sql_string(placeholder) }}, splits.split_value) as money_pool,
        {%- else -%}
        {{ text_or_null(money.get('pool')) }} as money_pool,
        {%- endif %}
        cast({{ money.get('value_per_unit') if money.get('value_per_unit') is number else 'null' }} as {{ type_double() }}) as money_value_per_unit,
        {{ 'true' if m.get('zero_fill') else 'false' }} as zero_fill,
        cast({{ m.get('scale', 1) if m['aggregation'] == 'ratio' else 'null' }} as {{ type_double() }}) as scale
    {%- if split_by %}

    from (
        -- the raw value shown in the label: the first of those mapping to the same name
        select
            {{ slugify(split_by) }} as split_value,
            min(cast({{ split_by }} as {{ text }})) as split_label
        from {{ m['dataset'] }}
        group by {{ slugify(split_by) }}
    ) as splits
    {%- endif %}
    {% if not loop.last %}
    union all
    {% endif %}
{%- else %}
    select
        {%- for column in [
            'metric', 'label', 'source', 'catalogue_name', 'dataset', 'aggregation', 'expression', 'filter',
            'split_by', 'split_value', 'period', 'volume_label', 'good_direction', 'unit', 'money_kind', 'money_basis',
            'money_pool',
        ] %}
        cast(null as {{ text }}) as {{ column }},
        {%- endfor %}
        cast(null as {{ type_double() }}) as money_value_per_unit,
        cast(null as boolean) as zero_fill,
        cast(null as {{ type_double() }}) as scale

    from kpi_series
    where 1 = 0
    {%- endfor %}

),

kpi_metrics as (

    select distinct
        metric,
        -- a KPI is named in words from its name (staff_satisfaction: Staff satisfaction)
        {{ dbt.concat(["upper(substr(metric, 1, 1))", "replace(substr(metric, 2), '_', ' ')"]) }} as label,
        cast('kpi' as {{ text }}) as source,
        cast(null as {{ text }}) as catalogue_name,
        cast('kpis' as {{ text }}) as dataset,
        cast('reported' as {{ text }}) as aggregation,
        cast(null as {{ text }}) as expression,
        cast(null as {{ text }}) as filter,
        cast(null as {{ text }}) as split_by,
        cast(null as {{ text }}) as split_value,
        -- 'irregular' KPIs are known but not published in metric_series
        grain as period,
        cast('reported periods' as {{ text }}) as volume_label,
        cast(null as {{ text }}) as good_direction,
        cast('number' as {{ text }}) as unit,
        cast(null as {{ text }}) as money_kind,
        cast(null as {{ text }}) as money_basis,
        cast(null as {{ text }}) as money_pool,
        cast(null as {{ type_double() }}) as money_value_per_unit,
        false as zero_fill,
        cast(null as {{ type_double() }}) as scale

    from kpi_series
    where metric not in (select catalogue_metrics.metric from catalogue_metrics)

),

final as (

    select * from catalogue_metrics
    union all
    select * from kpi_metrics

)

select * from final
