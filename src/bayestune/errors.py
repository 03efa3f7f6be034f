"""The one error type a user sees: what is wrong, and where."""

from __future__ import annotations


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
