"""Exit codes of the ``reliability`` command, documented in the README."""

OK = 0
USAGE = 2  # argparse's own code for bad flags
INPUT_ERROR = 3  # input files failed validation or could not be read
FIT_FAILURE = 4  # the model could not be fitted to valid input
OUTPUT_FAILURE = 5  # a table, report or output file could not be written
BUSY = 6  # another job holds the table directory's lock
