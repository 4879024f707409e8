-- Every run's initiative_roi rows, by as_of: how each claim evolved night by night.
-- A rerun for the same as_of replaces that day's rows.
{{
    config(
        materialized='incremental',
        unique_key=['initiative_id', 'as_of'],
        on_schema_change='append_new_columns',
        **replace_by_key_config('as_of')
    )
}}

with

current_run as (

    select * from {{ ref('initiative_roi') }}

)

select * from current_run
