"""Reading a job's output file safely (no Django here: paths in, text or an open file out).

A path is read only when, all at once: it is absolute; the directory it names, with every symlink resolved, lies
inside one of the allowed roots; the file itself is not a symlink (opened with O_NOFOLLOW, so a link swapped in
after the check is refused too); it is a regular file; and it belongs to the job's uid. Everything is checked on
the open file descriptor (fstat), never on the name a second time.
"""

import os
import stat


class OutputRefused(Exception):
    """Why a path is not read: ``reason`` is one of missing, outside, owner, not_file, unreadable, too_large."""

    def __init__(self, reason: str, path: str = ""):
        super().__init__(f"{reason}: {path}")
        self.reason, self.path = reason, path


def _inside(path: str, roots) -> bool:
    for root in roots or []:
        if not root or not os.path.isabs(root):
            continue
        real_root = os.path.realpath(root)
        if path == real_root or path.startswith(real_root.rstrip(os.sep) + os.sep):
            return True
    return False


def open_checked(path: str, *, owner_uid: int | None, allowed_roots) -> tuple[int, os.stat_result]:
    """An open file descriptor (read-only) of ``path`` and its stat, after every check; OutputRefused."""
    if not isinstance(path, str) or not path or "\x00" in path or not os.path.isabs(path):
        raise OutputRefused("outside", str(path))
    directory, name = os.path.split(os.path.normpath(path))
    real = os.path.join(os.path.realpath(directory), name)
    if not name or not _inside(real, allowed_roots):
        raise OutputRefused("outside", path)
    try:
        descriptor = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise OutputRefused("missing", path) from None
    except OSError as error:
        # ELOOP: the file is a symlink (O_NOFOLLOW); anything else: not readable from here.
        raise OutputRefused("not_file" if error.errno == 40 else "unreadable", path) from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise OutputRefused("not_file", path)
        if owner_uid is not None and info.st_uid != owner_uid:
            raise OutputRefused("owner", path)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor, info


def read_tail(path: str, *, owner_uid: int | None, allowed_roots, max_bytes: int) -> tuple[str, bool]:
    """The last ``max_bytes`` of the file as text (UTF-8, undecodable bytes replaced) and whether it was cut."""
    descriptor, info = open_checked(path, owner_uid=owner_uid, allowed_roots=allowed_roots)
    with os.fdopen(descriptor, "rb") as handle:
        size = info.st_size
        start = max(size - max(int(max_bytes), 0), 0)
        handle.seek(start)
        data = handle.read(size - start)
    text = data.decode("utf-8", errors="replace")
    if start:
        # Begin at a whole line when the cut fell inside one.
        newline = text.find("\n")
        if 0 <= newline < len(text) - 1:
            text = text[newline + 1 :]
    return text, bool(start)


def open_for_download(path: str, *, owner_uid: int | None, allowed_roots, max_bytes: int):
    """(an open binary file, its size) for a download; OutputRefused("too_large") past ``max_bytes``."""
    descriptor, info = open_checked(path, owner_uid=owner_uid, allowed_roots=allowed_roots)
    if info.st_size > max_bytes:
        os.close(descriptor)
        raise OutputRefused("too_large", path)
    return os.fdopen(descriptor, "rb"), info.st_size
