"""What every ``roi`` command exits with."""

EXIT_OK = 0  # success, or nothing changed since the last published run
EXIT_RUN_FAILED = 1  # the run failed: the published warehouse is untouched
EXIT_INVALID_INPUT = 2  # the inputs (register, data, sources, a setting) cannot be used: nothing was written
