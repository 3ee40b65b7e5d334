"""One exception type for bad user input: the CLI prints its message on one line and exits 2."""


class UsageError(Exception):
    """Bad input or usage (missing file, bad flag, corrupt data). Message names problem and fix."""
