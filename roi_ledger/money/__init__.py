"""Money: measured effects turned into benefit, set against costs — ROI, payback and NPV.

Pure functions on frames (``costs``, ``benefit``, ``roi``); the Dagster asset in
``pipelines/defs/money.py`` runs them and dbt publishes ``marts.initiative_roi*`` and
``marts.portfolio_roi``. Conventions: docs/money.md.
"""
