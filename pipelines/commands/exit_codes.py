"""What every ``roi`` command exits with (README "Exit codes")."""

EXIT_OK = 0  # success, or nothing changed since the last published run
EXIT_RUN_FAILED = 1  # the run failed: the published warehouse is untouched
# The inputs cannot be used, nothing was written: the register, data, sources or a setting is
# invalid, the salt is not the warehouse's, or another run (or erasure) holds the warehouse.
EXIT_INVALID_INPUT = 2
