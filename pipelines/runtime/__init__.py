"""Run plumbing: the warehouse and its build file, the run lock, the run resource and settings,
what a night keeps, dbt's project and child process, progress and failure notices.
"""
