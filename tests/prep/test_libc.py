"""prep.libc: the C library's functions are found where they exist and are None where
they do not, so their callers do without instead of failing."""

from __future__ import annotations

import ctypes
import os

import pytest

from prep.libc import c_function

pytestmark = pytest.mark.rapido


def test_a_function_of_the_c_library_is_found_and_called() -> None:
    getpid = c_function("getpid")
    assert getpid is not None
    assert getpid() == os.getpid()


def test_a_function_the_c_library_lacks_is_none() -> None:
    assert c_function("prep_no_existe_en_libc") is None


def test_errors_are_read_from_errno() -> None:
    syncfs = c_function("syncfs")
    assert syncfs is not None  # Linux's glibc: every corte flushes with it
    assert syncfs(-1) == -1
    assert ctypes.get_errno() == 9  # EBADF: a closed descriptor, said, not hidden
