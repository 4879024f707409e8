{#-
    Turning var('metric_catalogue') (entries shaped as in roi_ledger/catalogue/metrics.yml)
    into SQL. int_metric_values calls metric_ctes() once per entry; metric_catalogue (the mart)
    calls catalogue_rows().
-#}


{#- The entries of var('metric_catalogue'), checked. A malformed entry stops the build with
    a message naming it (a silently wrong published metric is worse than a failed run). -#}
{% macro metric_entries() -%}
    {%- set entries = var('metric_catalogue', []) or [] -%}
    {%- if entries is string or entries is mapping -%}
        {{ exceptions.raise_compiler_error("var 'metric_catalogue' must be a list of metric entries") }}
    {%- endif -%}
    {%- set seen = [] -%}
    {%- for m in entries -%}
        {%- set where = "metric_catalogue entry " ~ loop.index ~ " (" ~ (m.get('name') if m is mapping else m) ~ "): " -%}
        {%- if m is not mapping or not m.get('name') -%}
            {{ exceptions.raise_compiler_error(where ~ "needs a name") }}
        {%- endif -%}
        {%- if m['name'] in seen -%}
            {{ exceptions.raise_compiler_error(where ~ "the name is used twice") }}
        {%- endif -%}
        {%- do seen.append(m['name']) -%}
        {%- set agg = m.get('aggregation') -%}
        {%- if agg not in ['rate', 'mean', 'median', 'sum', 'count', 'ratio'] -%}
            {{ exceptions.raise_compiler_error(where ~ "aggregation must be one of rate, mean, median, sum, count, ratio") }}
        {%- endif -%}
        {%- if agg == 'ratio' -%}
            {%- for side in ['numerator', 'denominator'] -%}
                {%- set part = m.get(side) -%}
                {%- if part is not mapping or part.get('dataset') not in event_datasets() or not part.get('expression') -%}
                    {{ exceptions.raise_compiler_error(where ~ side ~ " needs a dataset (one of " ~ event_datasets() | join(', ') ~ ") and an expression") }}
                {%- endif -%}
            {%- endfor -%}
            {%- if m.get('split_by') -%}
                {{ exceptions.raise_compiler_error(where ~ "split_by is not supported for ratio metrics") }}
            {%- endif -%}
            {%- if m.get('zero_fill') -%}
                {{ exceptions.raise_compiler_error(where ~ "zero_fill applies to sum and count metrics only") }}
            {%- endif -%}
            {%- set scale = m.get('scale', 1) -%}
            {%- if scale is string or scale is mapping or scale is none or (scale is not number) -%}
                {{ exceptions.raise_compiler_error(where ~ "scale must be a number") }}
            {%- endif -%}
        {%- else -%}
            {%- if m.get('dataset') not in event_datasets() -%}
                {{ exceptions.raise_compiler_error(where ~ "dataset must be one of " ~ event_datasets() | join(', ')) }}
            {%- endif -%}
            {%- if agg != 'count' and not m.get('expression') -%}
                {{ exceptions.raise_compiler_error(where ~ "a " ~ agg ~ " metric needs an expression") }}
            {%- endif -%}
            {%- if m.get('zero_fill') and agg not in ['sum', 'count'] -%}
                {{ exceptions.raise_compiler_error(where ~ "zero_fill applies to sum and count metrics only") }}
            {%- endif -%}
            {%- if m.get('split_by') -%}
                {%- if not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', m['split_by']) -%}
                    {{ exceptions.raise_compiler_error(where ~ "split_by must be a column name") }}
                {%- endif -%}
                {%- if ('{' ~ m['split_by'] ~ '}') not in m['name'] -%}
                    {{ exceptions.raise_compiler_error(where ~ "a split_by metric's name must contain {" ~ m['split_by'] ~ "}") }}
                {%- endif -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(entries) }}
{%- endmacro %}

{#- SQL for the metric's name: a literal, or for split_by the template around the slug column. -#}
{% macro metric_name_sql(m, slug_column) -%}
    {%- if m.get('split_by') -%}
        {%- set parts = m['name'].split('{' ~ m['split_by'] ~ '}', 1) -%}
        {{ dbt.concat([sql_string(parts[0]), slug_column, sql_string(parts[1])]) }}
    {%- else -%}
        {{ sql_string(m['name']) }}
    {%- endif -%}
{%- endmacro %}

{% macro _filter_sql(filters) -%}
    {%- set present = [] -%}
    {%- for f in filters if f -%}{%- do present.append('(' ~ f ~ ')') -%}{%- endfor -%}
    {{- present | join(' and ') if present else '1 = 1' -}}
{%- endmacro %}

{#-
    The CTEs of one metric, named <prefix>_*, ending with `<prefix>` itself:
    (unit_id, metric, period_start, value, volume), one row per unit and week (Monday).
    Expects in scope: <dataset>_records (int_<dataset> + period_start), <dataset>_coverage
    (first_week, last_week over all units), unit_spans (unit_id, first_week), calendar
    (period_start: every Monday from the first to the last week with any record).
    Emits a trailing comma.
-#}
{% macro metric_ctes(m, prefix) -%}
{%- set agg = m['aggregation'] -%}
{%- if agg == 'ratio' -%}
{%- set scale = m.get('scale', 1) -%}
{%- for side in ['numerator', 'denominator'] %}
{%- set part = m[side] %}
{{ prefix }}_{{ side }} as (

    select
        unit_id,
        period_start,
        sum({{ part['expression'] }}) as amount

    from {{ part['dataset'] }}_records
    where {{ _filter_sql([part.get('filter'), m.get('filter')]) }}
    group by unit_id, period_start

),
{% endfor %}
{{ prefix }}_keys as (

    select unit_id, period_start from {{ prefix }}_numerator
    union
    select unit_id, period_start from {{ prefix }}_denominator

),

{{ prefix }} as (

    -- only weeks both datasets cover (over all units): outside them a missing side is
    -- "no data", not zero
    select
        keys.unit_id,
        {{ metric_name_sql(m, none) }} as metric,
        keys.period_start,
        cast(
            case
                when coalesce(denominator.amount, 0) = 0 then null
                else cast(coalesce(numerator.amount, 0) as {{ type_double() }}) / denominator.amount * {{ scale }}
            end
        as {{ type_double() }}) as value,
        cast(coalesce(denominator.amount, 0) as {{ type_double() }}) as volume

    from {{ prefix }}_keys as keys
    cross join {{ m['numerator']['dataset'] }}_coverage as numerator_coverage
    cross join {{ m['denominator']['dataset'] }}_coverage as denominator_coverage
    left join {{ prefix }}_numerator as numerator
        on keys.unit_id = numerator.unit_id
        and keys.period_start = numerator.period_start
    left join {{ prefix }}_denominator as denominator
        on keys.unit_id = denominator.unit_id
        and keys.period_start = denominator.period_start
    where keys.period_start between numerator_coverage.first_week and numerator_coverage.last_week
      and keys.period_start between denominator_coverage.first_week and denominator_coverage.last_week

),
{%- else -%}
{%- set dataset = m['dataset'] -%}
{%- set expression = m.get('expression') -%}
{%- set split_by = m.get('split_by') -%}
{%- if agg == 'rate' -%}
    {%- set input_sql = 'case when (' ~ expression ~ ') then 1.0 else 0.0 end' -%}
{%- elif expression -%}
    {%- set input_sql = '(' ~ expression ~ ')' -%}
{%- else -%}
    {%- set input_sql = '1' -%}
{%- endif -%}
{%- set aggregates = {
    'rate': ('avg(metric_input)', 'count(*)'),
    'mean': ('avg(metric_input)', 'count(metric_input)'),
    'median': ('percentile_cont(0.5) within group (order by metric_input)', 'count(metric_input)'),
    'sum': ('sum(metric_input)', 'count(*)'),
    'count': ('count(metric_input)', 'count(*)'),
} -%}
{%- set split_sql = slugify(split_by) if split_by else 'cast(null as ' ~ dbt.type_string() ~ ')' %}
{{ prefix }}_records as (

    select
        unit_id,
        period_start,
        {{ split_sql }} as split_value,
        {{ input_sql }} as metric_input

    from {{ dataset }}_records
    where {{ _filter_sql([m.get('filter')]) }}

),

{{ prefix }}_aggregated as (

    select
        unit_id,
        period_start,
        split_value,
        cast({{ aggregates[agg][0] }} as {{ type_double() }}) as value,
        cast({{ aggregates[agg][1] }} as {{ type_double() }}) as volume

    from {{ prefix }}_records
    group by unit_id, period_start, split_value

),
{%- if m.get('zero_fill') %}

{{ prefix }}_grid as (

    -- every week of the unit's active span: from its first week with any record in any
    -- dataset to the last week with a record of this dataset in any unit
    select
        unit_spans.unit_id,
        calendar.period_start,
        splits.split_value

    from unit_spans
    cross join {{ dataset }}_coverage as coverage
    inner join calendar
        on calendar.period_start >= unit_spans.first_week
        and calendar.period_start <= coverage.last_week
    {%- if split_by %}
    -- per unit, every value it has ever logged
    inner join (
        select distinct
            unit_id,
            {{ split_sql }} as split_value
        from {{ dataset }}_records
    ) as splits
        on unit_spans.unit_id = splits.unit_id
    {%- else %}
    cross join (select cast(null as {{ dbt.type_string() }}) as split_value) as splits
    {%- endif %}

),

{{ prefix }}_filled as (

    select
        grid.unit_id,
        grid.period_start,
        grid.split_value,
        case when aggregated.unit_id is null then 0 else aggregated.value end as value,
        coalesce(aggregated.volume, 0) as volume

    from {{ prefix }}_grid as grid
    left join {{ prefix }}_aggregated as aggregated
        on grid.unit_id = aggregated.unit_id
        and grid.period_start = aggregated.period_start
        and coalesce(grid.split_value, '') = coalesce(aggregated.split_value, '')

),
{%- endif %}

{{ prefix }} as (

    select
        unit_id,
        {{ metric_name_sql(m, 'split_value') }} as metric,
        period_start,
        cast(value as {{ type_double() }}) as value,
        cast(volume as {{ type_double() }}) as volume

    from {{ prefix }}_{{ 'filled' if m.get('zero_fill') else 'aggregated' }}

),
{%- endif %}
{%- endmacro %}
