# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private files on the controller: directories 0700, files 0600, atomic replace.

PRIVATE to the hardened.nats collection: no API promise, may change at any time.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile

DIR_MODE = 0o700
FILE_MODE = 0o600


def missing_dirs(path):
    """The directories that ensure_dir(path) would create, outermost first."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return list(reversed(missing))


def ensure_dir(path, mode=DIR_MODE):
    """Create path and its missing parents with mode (umask ignored). Return the created directories."""
    created = []
    for directory in missing_dirs(path):
        try:
            os.mkdir(directory, mode)
        except OSError as exc:
            if exc.errno != errno.EEXIST or not os.path.isdir(directory):
                raise
            continue
        os.chmod(directory, mode)
        created.append(directory)
    return created


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read_bytes(path):
    """Content of path, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_private(path, data, mode=FILE_MODE, dir_mode=DIR_MODE):
    """Atomically replace path with data, the file created with mode from the start.

    Missing parent directories are created with dir_mode. The temporary file lives in
    the same directory and never holds looser permissions than mode.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    ensure_dir(directory, dir_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def fix_mode(path, mode=FILE_MODE):
    """chmod path to mode if it differs. Return True when it changed."""
    if file_mode(path) != mode:
        os.chmod(path, mode)
        return True
    return False


@contextlib.contextmanager
def locked(path):
    """Hold an exclusive flock on path (created 0600) for the duration of the block."""
    ensure_dir(os.path.dirname(os.path.abspath(path)))
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
