"""A login must not leave scrypt's 16 MiB work area in the daemon's RSS (portald.memory)."""
from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys, gevent
from portald.memory import tune_malloc
from portald.auth.admin_account import _hash
if sys.argv[1] == "tuned":
    assert tune_malloc()
def rss():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024
pool = gevent.get_hub().threadpool
pool.apply(_hash, ("x", b"s" * 16))
before = rss()
for _ in range(3):
    pool.apply(_hash, ("x", b"s" * 16))
print(rss() - before)
"""


def _growth(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def test_tuned_malloc_returns_scrypt_memory():
    assert _growth("tuned") < 4
