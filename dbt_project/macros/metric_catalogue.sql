{#-
    Turning var('metric_catalogue') (entries shaped as in roi_ledger/catalogue/metrics.yml)
    into SQL. int_metric_values calls metric_ctes() once per entry; int_metric_values_capped
    once per entry and outlier cap share; metric_catalogue (the mart) calls catalogue_rows().
-#}


{#- The CTEs every metric is computed from: <dataset>_records (int_<dataset> + period_start, of
    the weeks computed), <dataset>_all (the same, of every week), <dataset>_weeks (the unit and
    week of every record), <dataset>_coverage, unit_weeks, unit_spans, calendar_bounds, calendar
    (the weeks computed). With through_as_of, records after the as-of day are left out. With
    only_some_weeks, only the weeks int_metric_values recomputes tonight
    (macros/weekly_series.sql) are computed: the bounds still come from every record. Each reads
    int_<dataset> itself, and the bounds read only two columns: an engine that materialises a CTE
    read more than once (DuckDB) then copies no more than that. Emits a trailing comma. -#}
{% macro metric_inputs(through_as_of=false, only_some_weeks=false) -%}
{% for dataset in event_datasets() %}
{%- set through = 'records.event_date <= ' ~ as_of_date() if through_as_of else none %}
{{ dataset }}_all as (

    select
        records.*,
        {{ week_start('records.event_date') }} as period_start

    from {{ ref('int_' ~ dataset) }} as records
    where {{ _filter_sql([through]) }}

),

{{ dataset }}_records as (

    select
        records.*,
        {{ week_start('records.event_date') }} as period_start

    from {{ ref('int_' ~ dataset) }} as records
    where {{ _filter_sql([through, weekly_series_in_weeks('records.event_date') if only_some_weeks else none]) }}

),

{{ dataset }}_weeks as (

    select
        records.unit_id,
        {{ week_start('records.event_date') }} as period_start

    from {{ ref('int_' ~ dataset) }} as records
    where {{ _filter_sql([through]) }}

),

{{ dataset }}_coverage as (

    select
        min(period_start) as first_week,
        max(period_start) as last_week

    from {{ dataset }}_weeks

),
{% endfor %}
unit_weeks as (
{% for dataset in event_datasets() %}
    select unit_id, period_start from {{ dataset }}_weeks
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}

),

unit_spans as (

    select
        unit_id,
        min(period_start) as first_week

    from unit_weeks
    group by unit_id

),

calendar_bounds as (

    select
        min(period_start) as first_week,
        max(period_start) as last_week

    from unit_weeks

),

calendar as (

    -- every Monday from the first to the last week with a record (up to 4096 weeks, ~78 years)
    select
        cast({{ dbt.dateadd('day', '7 * (series.generated_number - 1)', 'calendar_bounds.first_week') }} as date) as period_start

    from ({{ dbt.generate_series(4096) }}) as series
    cross join calendar_bounds
    where {{ dbt.dateadd('day', '7 * (series.generated_number - 1)', 'calendar_bounds.first_week') }}
        <= calendar_bounds.last_week
    {%- if only_some_weeks %}
      and {{ weekly_series_in_weeks('cast(' ~ dbt.dateadd('day', '7 * (series.generated_number - 1)', 'calendar_bounds.first_week') ~ ' as date)') }}
    {%- endif %}

),
{%- endmacro %}


{#- The metrics the outliers claim check reads capped, by cap share: {share: [metric, ...]}
    for every metric an initiative is measured on (raw.register_initiative_metrics), at that
    initiative's outlier_cap_share (raw.register_claim_thresholds), shares as SQL literals.
    While dbt only parses, the documented default share and no metric. -#}
{% macro claimed_cap_shares() -%}
    {%- if not execute -%}
        {{ return({'0.01': []}) }}
    {%- endif -%}
    {%- set rows = run_query(
        "select distinct cast(t.value as " ~ dbt.type_string() ~ "), m.metric"
        ~ " from " ~ source('raw', 'register_initiative_metrics') ~ " as m"
        ~ " inner join " ~ source('raw', 'register_claim_thresholds') ~ " as t"
        ~ " on t.initiative_id = m.initiative_id and t.threshold = 'outlier_cap_share'"
        ~ " order by 1, 2"
    ).rows -%}
    {%- set shares = {} -%}
    {%- for row in rows -%}
        {%- do shares.setdefault(row[0], []).append(row[1]) -%}
    {%- endfor -%}
    {{ return(shares) }}
{%- endmacro %}


{#- Whether catalogue entry m computes the metric named `metric` (for split_by, one of its
    values: the name's template around any slug). -#}
{% macro entry_computes(m, metric) -%}
    {%- if m.get('split_by') -%}
        {%- set parts = m['name'].split('{' ~ m['split_by'] ~ '}', 1) -%}
        {{ return(metric.startswith(parts[0]) and metric.endswith(parts[1]) and metric | length > (parts | join('') | length)) }}
    {%- endif -%}
    {{ return(metric == m['name']) }}
{%- endmacro %}


{#- The metrics' CTEs unioned: blocks is a list of (cte name, cap share or none); with
    with_cap the rows carry cap_share. No blocks: an empty table of the right shape. -#}
{% macro metric_union(blocks, with_cap=false) -%}
{%- for block, share in blocks %}
    select
        unit_id,
        metric,
        period_start,
        {%- if with_cap %}
        cast({{ share }} as {{ type_double() }}) as cap_share,
        {%- endif %}
        value,
        volume

    from {{ block }}
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- else %}
    -- no metrics: an empty table of the right shape
    select
        cast(null as {{ dbt.type_string() }}) as unit_id,
        cast(null as {{ dbt.type_string() }}) as metric,
        cast(null as date) as period_start,
        {%- if with_cap %}
        cast(null as {{ type_double() }}) as cap_share,
        {%- endif %}
        cast(null as {{ type_double() }}) as value,
        cast(null as {{ type_double() }}) as volume

    from calendar_bounds
    where 1 = 0
{%- endfor %}
{%- endmacro %}


{#- A record value capped at the (1 - cap) quantile of the values it is compared with. -#}
{% macro capped_value(value, cap_value) -%}
    case when {{ value }} > {{ cap_value }} then {{ cap_value }} else {{ value }} end
{%- endmacro %}


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
    Expects in scope the CTEs of metric_inputs(): <dataset>_records (int_<dataset> +
    period_start, of the weeks computed), <dataset>_all (the same, of every week),
    <dataset>_coverage (first_week, last_week over all units), unit_spans (unit_id,
    first_week), calendar (every Monday from the first to the last week with any record, of
    the weeks computed). With cap (a share such as 0.01), the records above the (1 - cap) quantile of the
    metric's records count at that quantile: the series the outliers claim check re-estimates
    on (sum, mean, median and the numerator of ratio metrics). Emits a trailing comma.
-#}
{% macro metric_ctes(m, prefix, cap=none) -%}
{%- set agg = m['aggregation'] -%}
{%- if agg == 'ratio' -%}
{%- set scale = m.get('scale', 1) -%}
{%- for side in ['numerator', 'denominator'] %}
{%- set part = m[side] %}
{%- if cap is not none and side == 'numerator' %}
{{ prefix }}_numerator_records as (

    select
        unit_id,
        period_start,
        {{ part['expression'] }} as record_value

    from {{ part['dataset'] }}_records
    where {{ _filter_sql([part.get('filter'), m.get('filter')]) }}

),

{{ prefix }}_numerator_cap as (

    select {{ percentile_cont(1 - (cap | float), 'record_value') }} as cap_value
    from {{ prefix }}_numerator_records

),

{{ prefix }}_numerator as (

    -- the numerator's records above the cap count at the cap
    select
        records.unit_id,
        records.period_start,
        sum({{ capped_value('records.record_value', 'cap.cap_value') }}) as amount

    from {{ prefix }}_numerator_records as records
    cross join {{ prefix }}_numerator_cap as cap
    group by records.unit_id, records.period_start

),
{%- else %}
{{ prefix }}_{{ side }} as (

    select
        unit_id,
        period_start,
        sum({{ part['expression'] }}) as amount

    from {{ part['dataset'] }}_records
    where {{ _filter_sql([part.get('filter'), m.get('filter')]) }}
    group by unit_id, period_start

),
{%- endif %}
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
{#- Averages of floats: an average of decimals keeps only a few more decimal places on some
    engines (Spark: 0.15385 for 2 of 13). -#}
{%- if agg == 'rate' -%}
    {%- set input_sql = 'cast(case when (' ~ expression ~ ') then 1 else 0 end as ' ~ type_double() ~ ')' -%}
{%- elif expression and agg in ('mean', 'median') -%}
    {%- set input_sql = 'cast((' ~ expression ~ ') as ' ~ type_double() ~ ')' -%}
{%- elif expression -%}
    {%- set input_sql = '(' ~ expression ~ ')' -%}
{%- else -%}
    {%- set input_sql = '1' -%}
{%- endif -%}
{%- set aggregates = {
    'rate': ('avg(metric_input)', 'count(*)'),
    'mean': ('avg(metric_input)', 'count(metric_input)'),
    'median': (percentile_cont(0.5, 'metric_input'), 'count(metric_input)'),
    'sum': ('sum(metric_input)', 'count(*)'),
    'count': ('count(metric_input)', 'count(*)'),
} -%}
{%- set split_sql = slugify(split_by) if split_by else 'cast(null as ' ~ dbt.type_string() ~ ')' %}
{{ prefix }}_{{ 'uncapped' if cap is not none else 'records' }} as (

    select
        unit_id,
        period_start,
        {{ split_sql }} as split_value,
        {{ input_sql }} as metric_input

    from {{ dataset }}_records
    where {{ _filter_sql([m.get('filter')]) }}

),
{%- if cap is not none %}

{{ prefix }}_cap as (

    -- per value of split_by (each is its own metric), over every unit's records
    select
        split_value,
        {{ percentile_cont(1 - (cap | float), 'metric_input') }} as cap_value

    from {{ prefix }}_uncapped
    group by split_value

),

{{ prefix }}_records as (

    -- records above the cap count at the cap
    select
        uncapped.unit_id,
        uncapped.period_start,
        uncapped.split_value,
        {{ capped_value('uncapped.metric_input', 'cap.cap_value') }} as metric_input

    from {{ prefix }}_uncapped as uncapped
    inner join {{ prefix }}_cap as cap
        on coalesce(uncapped.split_value, '') = coalesce(cap.split_value, '')

),
{%- endif %}

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
    -- dataset to the last week with a record of this dataset in any unit; only units this
    -- dataset knows (a Zendesk group is no shop with zero orders)
    select
        unit_spans.unit_id,
        calendar.period_start,
        splits.split_value

    from unit_spans
    inner join (select distinct unit_id from {{ dataset }}_weeks) as known
        on unit_spans.unit_id = known.unit_id
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
        from {{ dataset }}_all
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
