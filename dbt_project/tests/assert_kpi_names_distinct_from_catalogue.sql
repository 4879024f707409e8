{{ config(severity='warn') }}
-- A reported KPI with the name of a catalogue metric is left out of metric_series
-- (the catalogue wins). Warn, so the business can rename it.
select distinct kpi_series.metric
from {{ ref('int_kpi_series') }} as kpi_series
inner join {{ ref('metric_catalogue') }} as catalogue
    on
        kpi_series.metric = catalogue.metric
        and catalogue.source = 'catalogue'
