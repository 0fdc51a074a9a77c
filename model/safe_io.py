"""Reading input files as if every path and every byte were hostile.

Every input the tool reads (scenario files, the files they extend, reference data, check
registries, historical series) goes through :func:`read_bytes`, :func:`read_text` or
:func:`load_toml`. Whatever the path names (a FIFO, ``/dev/zero``, a folder, a symlink loop,
a name too long for the file system, a name that is not UTF-8, a file of a gigabyte), the
answer is the file's bytes or one :class:`~projection.model.errors.InputError` line naming the
file and what was expected; never a hang, never a traceback.

The functions take the error class to raise (``error=``) so that each caller keeps its own
exception type (``ScenarioError``, ``ReferenceDataError``) and its ``except`` clauses.

The same module holds :func:`printable`, which removes the characters a terminal or a file
must not receive from a data file (escape sequences, other control characters, bidirectional
overrides), and :func:`check_path_name`, the name checks that the output layer
(``projection.outputs.files``) applies to the paths it writes.
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from pathlib import Path
from typing import Any

from .errors import InputError, is_control, shown

MAX_INPUT_BYTES = 16 * 1024 * 1024
"""Largest input file read (16 MiB). The shipped scenarios are about 10 kB and the reference
tables about 100 kB; a file a thousand times larger is a mistake (or ``/dev/zero``), not
data, and is refused before it is read into memory."""
MAX_TOML_DEPTH = 32
"""Deepest nesting of arrays and inline tables accepted in a TOML file. Scenario entries nest
three deep (``[workloads.video]`` then ``{ value = ... }``); Python's TOML parser recurses once
a level and fails with RecursionError near a thousand, so the depth is counted before parsing."""
NAME_MAX_BYTES = 255
"""Longest file or folder name (one path component) in bytes on Linux, macOS and Windows
file systems (ext4, APFS, NTFS: 255)."""
PATH_MAX_BYTES = 4096
"""Longest path Linux accepts in one system call (PATH_MAX in <linux/limits.h>)."""
UTF8_BOM = b"\xef\xbb\xbf"
"""The byte-order mark some Windows editors put at the start of a UTF-8 file; it is skipped."""


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` without control characters: each run of them becomes one space, so that
    ``"a\\x1b[2Jb"`` cannot clear a terminal. Newlines (and tabs) become spaces too unless
    ``keep_newlines``. Use it on every title, description or other free text taken from a data
    file before it reaches a terminal or an output file."""
    out: list[str] = []
    for char in text:
        if keep_newlines and char in "\n\t":
            out.append(char)
        elif is_control(char):
            if not out or out[-1] != " ":
                out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def path_name_problem(path: Path | str) -> str | None:
    """What is wrong with the *name* of ``path`` (not the file), or None: empty, a byte that
    is not UTF-8, a control character, a component longer than 255 bytes, a path longer than
    4096 bytes."""
    text = os.fspath(path)
    if text == "":
        return "is empty, expected a path"
    if any(unicodedata.category(c) == "Cs" for c in text):
        return "has a name that is not UTF-8 text; rename it"
    if any(is_control(c) for c in text):
        return "has a control character in its name; rename it"
    raw = os.fsencode(text)
    if len(raw) > PATH_MAX_BYTES:
        return f"is a path of {len(raw)} bytes, longer than the {PATH_MAX_BYTES} a system accepts"
    for part in raw.split(b"/"):
        if len(part) > NAME_MAX_BYTES:
            return (f"has a file or folder name of {len(part)} bytes, longer than the "
                    f"{NAME_MAX_BYTES} a file system accepts")
    return None


def check_path_name(path: Path | str, error: type[InputError] = InputError) -> Path:
    """``Path(path)`` when its name is usable (see :func:`path_name_problem`); else raise
    ``error(path, "", reason)``."""
    problem = path_name_problem(path)
    if problem:
        raise error(shown(path), "", problem)
    return Path(path)


def _os_problem(exc: OSError, what: str) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link that loops (it points back to itself)"
    if exc.errno == errno.ENAMETOOLONG:
        return "has a name too long for the file system"
    if exc.errno == errno.ENOTDIR:
        return "no such file (a part of the path is not a folder)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot be read (permission denied)"
    if exc.errno == errno.EISDIR:
        return f"is a folder, expected {what}"
    return f"cannot be read ({exc.strerror or exc})"


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_bytes(
    path: Path | str,
    *,
    what: str = "a file",
    error: type[InputError] = InputError,
    limit: int = MAX_INPUT_BYTES,
) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    ``what`` names what was expected ("a scenario .toml file") in the messages. Symbolic links
    are followed; a loop, a folder, a pipe, a device, a socket, a missing file, a name that is
    too long or not UTF-8, or a file larger than ``limit`` raise ``error(path, "", reason)``.
    A pipe is never opened for reading (it would block), and a file that grows while it is read
    is refused at ``limit``, not read to its end.
    """
    path = check_path_name(path, error)
    where = shown(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise error(where, "", _os_problem(exc, what)) from None
    except ValueError:  # an embedded NUL byte
        raise error(where, "", "has a NUL byte in its name") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(where, "", f"is {_kind_of(info.st_mode)}, expected {what}")
    if info.st_size > limit:
        raise error(where, "", f"is {info.st_size:,} bytes, larger than the {limit:,} bytes "
                               f"accepted for {what}")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(where, "", _os_problem(exc, what)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between stat and open
            raise error(where, "", f"is {_kind_of(os.fstat(fd).st_mode)}, expected {what}")
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise error(where, "", f"is larger than the {limit:,} bytes accepted for {what}")
    except OSError as exc:
        raise error(where, "", _os_problem(exc, what)) from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def decode_text(
    raw: bytes, path: Path | str, *, what: str = "a text file",
    error: type[InputError] = InputError,
) -> str:
    """``raw`` decoded as UTF-8 (a leading byte-order mark skipped); bytes that are not UTF-8
    raise ``error`` naming the line and column of the first bad byte."""
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(shown(path), "", f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at line "
                                     f"{line}, column {column}), expected {what}") from None


def read_text(
    path: Path | str, *, what: str = "a text file", error: type[InputError] = InputError,
    limit: int = MAX_INPUT_BYTES,
) -> str:
    """The text of ``path``: :func:`read_bytes` then :func:`decode_text`."""
    return decode_text(read_bytes(path, what=what, error=error, limit=limit), path, what=what,
                       error=error)


def toml_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings and comments in TOML ``text``.

    A table header ``[a.b]`` counts one and ``[[a]]`` two, which is harmless: the point is to
    refuse text that nests hundreds deep before a recursive parser meets it. The scan is linear
    and stops counting as soon as the nesting exceeds ``MAX_TOML_DEPTH``.
    """
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "\"'":
            quote3 = c * 3
            if text.startswith(quote3, i):
                end = text.find(quote3, i + 3)
                if c == '"':
                    while end > 0 and _escaped(text, end):
                        end = text.find(quote3, end + 1)
                i = n if end < 0 else end + 3
                while i < n and text[i] == c:  # up to two quotes may close a multi-line string
                    i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if (c == '"' and text[j] == "\\") else 1
            i = j + 1
            continue
        if c in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_TOML_DEPTH:
                    return deepest
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return deepest


def _escaped(text: str, index: int) -> bool:
    """True when the character at ``index`` follows an odd number of backslashes."""
    count = 0
    while index - 1 - count >= 0 and text[index - 1 - count] == "\\":
        count += 1
    return count % 2 == 1


def parse_toml(
    text: str, path: Path | str, *, what: str = "a TOML file",
    error: type[InputError] = InputError,
) -> dict[str, Any]:
    """``text`` parsed as TOML, after checking its nesting depth; any problem is one
    ``error`` line naming ``path``."""
    import tomllib  # here, not at the top: the command line's start-up does not need it

    if toml_depth(text) > MAX_TOML_DEPTH:
        raise error(shown(path), "", f"nests arrays or tables more than {MAX_TOML_DEPTH} deep, "
                                     f"expected {what}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(shown(path), "", f"is not valid TOML ({shown(str(exc))})") from None
    except RecursionError:  # a nesting the scan above did not see; never a traceback
        raise error(shown(path), "", f"nests too deep, expected {what}") from None


def load_toml(
    path: Path | str, *, what: str = "a TOML file", error: type[InputError] = InputError,
    limit: int = MAX_INPUT_BYTES,
) -> tuple[dict[str, Any], bytes]:
    """A TOML file read safely: (the parsed tables, the raw bytes as read, for hashing)."""
    raw = read_bytes(path, what=what, error=error, limit=limit)
    text = decode_text(raw, path, what=what, error=error)
    return parse_toml(text, path, what=what, error=error), raw


__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_TOML_DEPTH",
    "check_path_name",
    "decode_text",
    "is_control",
    "load_toml",
    "parse_toml",
    "path_name_problem",
    "printable",
    "read_bytes",
    "read_text",
    "shown",
    "toml_depth",
]
