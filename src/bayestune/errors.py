"""The errors a user sees as one line: bad input (what is wrong, and where), and a run that failed."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class BayestuneError(Exception):
    """Bad input from a user: reported as one line, exit status 2, no traceback.

    Parameters
    ----------
    what
        What is wrong, in words a user can act on.
    where
        Where it is: a file, a column, a config key, rows.
    """

    def __init__(self, what: str, where: str | None = None) -> None:
        self.what = what
        self.where = where
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.what} ({self.where})" if self.where else self.what


class RunFailed(Exception):
    """Work that had started could not finish for a reason outside the user's input (a worker
    process died): reported as one line, exit status 1; what is already written stays."""


def from_validation_error(exc: ValidationError, what: str, source: str) -> BayestuneError:
    """One line for a pydantic validation failure: the first problem, with its key's location."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = f"unknown key {str(err['loc'][-1])!r}"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return BayestuneError(f"invalid {what}: {msg}{more}", f"{source}: {loc}" if loc else source)
