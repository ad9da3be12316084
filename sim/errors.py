"""Errors a user can act on.

Every problem with a scenario, a data file or a command-line option is raised as a
:class:`ScenarioError` whose message names the file, the key path, the value that was
found and what is allowed. The CLI prints the message and exits with status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ScenarioError(ValueError):
    """A scenario, data file or option that cannot be used as given.

    Parameters
    ----------
    where : str
        The file (or ``"--set"``, ``"--vary"`` ...) the problem is in.
    path : str
        The dotted key path inside it, or ``""`` for the file as a whole.
    message : str
        What is wrong and what is allowed.
    """

    def __init__(self, where: str, path: str, message: str) -> None:
        self.where = where
        self.path = path
        self.message = message
        location = f"{where}: {path}" if path else where
        super().__init__(f"{location}: {message}")

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[str, str, str]]:
        # raised in a worker process, it crosses back to the parent by pickle
        return (type(self), (self.where, self.path, self.message))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``' (did you mean "x"?)'`` for the closest choice, or ``''``."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{match[0]}"?)' if match else ""
