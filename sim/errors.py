"""Errors a user can act on.

Every problem with a scenario, a data file or a command-line option is raised as a
:class:`ScenarioError` whose message names the file, the key path, the value that was
found and what is allowed. The CLI prints the message and exits with status 2.
"""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Iterable
from pathlib import Path


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


MAX_INPUT_BYTES = 2 * 1024**3
"""The largest input file capsim reads (a scenario, a trace, a usage or job log)."""


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file. A FIFO, a device (``/dev/zero``), a folder or a file
    over :data:`MAX_INPUT_BYTES` raises :class:`OSError` with a reason in words instead of
    blocking or reading for ever."""
    with open(path, "rb", opener=lambda p, f: os.open(p, f | os.O_NONBLOCK)) as fh:
        st = os.fstat(fh.fileno())
        if stat.S_ISDIR(st.st_mode):
            raise OSError(21, "is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise OSError(22, "is not a regular file (a pipe or a device?): capsim reads files")
        if st.st_size > MAX_INPUT_BYTES:
            raise OSError(27, f"is larger than {MAX_INPUT_BYTES / 1024**3:.0f} GiB")
        return fh.read()
