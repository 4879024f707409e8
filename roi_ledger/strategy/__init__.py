"""Strategy: objectives scorecard, initiative alignment, portfolio priorities and rollout phases.

Pure functions on frames; the Dagster asset in ``pipelines/defs/strategy.py`` wires them to the
warehouse. Every formula and default is documented in docs/strategy.md.
"""
