"""SQLite has no roles: what this process may do to a database file is its privileges."""

import os
import stat

_ANYONE = {
    os.R_OK: stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH,
    os.W_OK: stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH,
}


def may_open(path: str, write: bool) -> bool:
    """Whether this process may read the file and, with `write`, write it and create files
    beside it (SQLite's journal, or its -wal and -shm files)."""
    if not write:
        return _allows(path, os.R_OK)
    directory = os.path.dirname(path) or "."
    # A file not there yet is created by this process, which may then write it.
    writable = not os.path.exists(path) or _allows(path, os.R_OK | os.W_OK)
    return writable and _allows(directory, os.W_OK | os.X_OK)


def _allows(path: str, mode: int) -> bool:
    if not os.access(path, mode):  # also False on a read-only file system, even for root
        return False
    if os.geteuid() != 0:
        return True
    # Root passes every permission check, so for root the bits say what was meant: a file
    # nobody may write (chmod a-w) is read-only to root as well.
    bits = os.stat(path).st_mode
    return all(bits & anyone for flag, anyone in _ANYONE.items() if mode & flag)
