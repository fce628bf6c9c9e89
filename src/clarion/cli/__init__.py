"""The ``clarion`` command-line interface."""
