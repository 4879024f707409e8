{#
  ref() and source() without the database on DuckDB. The database of a DuckDB relation is the
  name the file was opened under (the build file's, then the published file's), and a view
  keeps the name it was created with: int_orders, a view, read "warehouse"."staging"."stg_orders"
  and failed in a copy of the warehouse, a backup under another name, or an analyst's
  `attach 'warehouse.duckdb' as w` (DuckDB fixed it upstream in duckdb/duckdb#25735, after the
  version we use). Every model lives in the one file, so schema.table names the same relation.
  Other adapters keep dbt's own relations.
#}
{% macro ref() %}
    {%- do return(without_database(builtins.ref(*varargs, **kwargs))) -%}
{% endmacro %}

{% macro source() %}
    {%- do return(without_database(builtins.source(*varargs, **kwargs))) -%}
{% endmacro %}

{% macro without_database(relation) %}
    {%- if target.type == 'duckdb' -%}
        {%- do return(relation.include(database=false)) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{% endmacro %}
