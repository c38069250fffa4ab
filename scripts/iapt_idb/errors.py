"""Errors a user can act on, and what each exit status of the ``iapt-idb`` command means.

Library code raises ``UserError`` (or a subclass) for a problem the user can fix; the CLI prints its
message on one line, without a traceback, and exits with its ``exit_code``. Anything else that escapes
is an internal error: the CLI says so without quoting the exception (it may hold input values) and
exits with ``EXIT_INTERNAL``, never with a verdict's status. ``InternalError`` is such a bug already
described without any input value (by a child process that found it): the CLI prints its message.
"""

from __future__ import annotations

EXIT_ACCEPTED = 0       # the platform is predicted to accept the file (or the command simply succeeded)
EXIT_FILE_REJECTED = 1  # the platform is predicted to reject the whole file
EXIT_UNUSABLE = 2       # unusable input or environment: the message says what and what to do
EXIT_INTERNAL = 3       # a bug in iapt-idb: not a verdict about the data
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C / SIGINT


class UserError(Exception):
    """A problem the user can fix; printed without a traceback. exit_code defaults to EXIT_UNUSABLE."""

    def __init__(self, message: str, exit_code: int = EXIT_UNUSABLE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class InternalError(Exception):
    """A bug in iapt-idb, described without quoting any input value; never caught as a UserError, so no
    caller can take it for a verdict or for unusable input. The CLI prints it and exits EXIT_INTERNAL."""
