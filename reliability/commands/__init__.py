"""Subcommands of the ``reliability`` command line, one module each."""
