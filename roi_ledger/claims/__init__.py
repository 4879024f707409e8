"""Claim health: every effect and every initiative gets its checks and a grade.

``engine.run_claim_checks`` runs every registered check (``checks/``) on every live or retired
initiative x metric and on every initiative; ``grading.grade_claims`` turns the results into
grades. Thresholds live in ``thresholds.py``. Pure functions on frames; the Dagster asset in
``pipelines/defs/claims.py`` wires them to the warehouse.
"""
