"""Functions of the C library this process runs on that Python's standard library does
not wrap (glibc's ``mallopt`` and ``malloc_trim``, Linux's ``syncfs`` and
``sync_file_range``), looked up in one place: each is ``None`` where the C library
lacks it (another C library; Windows, the stations' other system, has none at all), and
the caller then does without."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

try:  # the symbols of the running program, the C library's among them
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
except (OSError, TypeError):
    _LIBC = None


def c_function(name: str, argtypes: Sequence[Any] = (),
               restype: Any = ctypes.c_int) -> Callable[..., int] | None:
    """The C library's function ``name``, or ``None`` where it has none. ``argtypes``:
    its parameters' C types, where an int would not do (a 64-bit offset); errors are
    read with ``ctypes.get_errno()`` after a call."""
    if _LIBC is None:
        return None
    try:
        funcion = getattr(_LIBC, name)
    except AttributeError:
        return None
    if argtypes:
        funcion.argtypes = tuple(argtypes)
    funcion.restype = restype
    found: Callable[..., int] = funcion
    return found
