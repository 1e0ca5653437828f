"""Process memory tuning for a small device, applied once by ``portald run``.

glibc raises its mmap threshold dynamically: once a large block (scrypt's 16 MiB work area on an admin
login) has been freed, later blocks of that size come from the heap of the thread that allocated them
and stay there, so one login leaves ~16 MB of RSS behind for good. A fixed threshold keeps large blocks
in mmap, returned to the system on free. Thread arenas are limited to two for the same reason (the
threadpool's threads would each keep their own). A no-op where glibc is not the C library.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("portald")

M_ARENA_MAX = -8
M_MMAP_THRESHOLD = -3


def tune_malloc(mmap_threshold: int = 128 * 1024, arena_max: int = 2) -> bool:
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_ARENA_MAX, arena_max))
    if not ok:
        log.debug("mallopt refused the memory settings")
    return ok


def release_free_memory() -> None:
    """Hand memory freed during start-up (imports, key generation, probes) back to the system."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
