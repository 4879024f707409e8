"""Serving the published warehouse: the live dashboard and dbt's docs site."""
