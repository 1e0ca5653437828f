"""``portald.change_window``: snapshots taken before a change, restored when it fails or is not confirmed
in time, released when it is; the record survives a restart; a failing restore is retried."""
from __future__ import annotations

import os
import stat
import time

import gevent
import pytest

from portald import change_window
from portald.change_window import ChangeWindow, NoSuchChange
from portald.state import StateStore


class Owner:
    """A participant whose "configuration" is one value; it records every call."""

    def __init__(self, value="good"):
        self.value, self.calls, self.fail_restores = value, [], 0

    def snapshot(self, timeout):
        self.calls.append(("snapshot", timeout))
        return {"value": self.value}

    def restore(self, snap):
        self.calls.append(("restore", snap["value"]))
        if self.fail_restores:
            self.fail_restores -= 1
            raise OSError("device busy")
        self.value = snap["value"]

    def release(self, snap):
        self.calls.append(("release", snap["value"]))

    def set(self, value):
        def apply():
            self.value = value
            return value
        return apply


@pytest.fixture
def store(tmp_path):
    return StateStore(tmp_path / "changes")


def window_with(store, owners: dict[str, Owner], timeout=0.5) -> ChangeWindow:
    window = ChangeWindow(store, timeout)
    for name, owner in owners.items():
        window.participate(name, owner.restore, owner.release)
    return window


def test_confirmed_change_stays_and_its_snapshot_is_released(store):
    owner = Owner()
    window = window_with(store, {"net": owner})
    result, pending = window.change("net", owner.snapshot, owner.set("new"), "admin", "set new")
    assert result == "new" and pending["changes"] == ["set new (by admin)"]
    assert pending["confirmUrl"] == f"/platform/api/networking/changes/{pending['id']}/confirm"
    mode = stat.S_IMODE(os.stat(store.path(change_window.FILE)).st_mode)
    assert mode == 0o600  # snapshots may hold Wi-Fi passphrases
    window.confirm(pending["id"], "admin")
    gevent.sleep(0.8)
    assert owner.value == "new" and ("release", "good") in owner.calls and window.pending() is None
    assert not store.path(change_window.FILE).exists()


def test_unconfirmed_changes_of_two_owners_are_restored_newest_first(store):
    net, wifi = Owner("net-good"), Owner("wifi-good")
    window = window_with(store, {"net": net, "wifi": wifi})
    window.change("net", net.snapshot, net.set("net-1"), "admin", "one")
    window.change("net", net.snapshot, net.set("net-2"), "admin", "two")  # joins: no second snapshot
    window.change("wifi", wifi.snapshot, wifi.set("wifi-1"), "admin", "three")
    assert [c for c in net.calls if c[0] == "snapshot"] == [("snapshot", 0.5)]
    gevent.sleep(1.0)
    assert (net.value, wifi.value) == ("net-good", "wifi-good")
    assert window.pending() is None


def test_a_failed_change_is_restored_at_once_and_raised(store):
    owner = Owner()
    window = window_with(store, {"net": owner})

    def broken():
        owner.value = "half-done"
        raise OSError("netlink said no")

    with pytest.raises(OSError):
        window.change("net", owner.snapshot, broken, "admin", "break it")
    assert owner.value == "good" and window.pending() is None


def test_a_failed_snapshot_changes_nothing(store):
    owner = Owner()
    window = window_with(store, {"net": owner})

    def no_snapshot(timeout):
        raise OSError("NetworkManager did not answer")

    with pytest.raises(OSError):
        window.change("net", no_snapshot, owner.set("new"), "admin", "x")
    assert owner.value == "good" and window.pending() is None


def test_the_record_survives_a_restart_and_an_expired_window_rolls_back_at_start(store):
    owner = Owner()
    first = window_with(store, {"net": owner}, timeout=0.3)
    first.change("net", owner.snapshot, owner.set("new"), "admin", "x")
    first.shutdown()  # the daemon stops before the window runs out
    time.sleep(0.4)
    restarted_owner = Owner("new")  # the configuration as the machine has it after the restart
    second = window_with(store, {"net": restarted_owner}, timeout=0.3)
    assert second.pending()["changes"] == ["x (by admin)"]
    second.resume()
    gevent.sleep(0.1)
    assert restarted_owner.value == "good" and second.pending() is None


def test_a_failing_restore_is_kept_shown_and_retried(store, monkeypatch):
    monkeypatch.setattr(change_window, "RETRY_SECONDS", 0.2)
    owner = Owner()
    owner.fail_restores = 1
    window = window_with(store, {"net": owner}, timeout=0.2)
    window.change("net", owner.snapshot, owner.set("new"), "admin", "x")
    gevent.sleep(0.3)
    pending = window.pending()
    assert pending is not None and "device busy" in pending["rollbackError"] and owner.value == "new"
    gevent.sleep(0.4)
    assert owner.value == "good" and window.pending() is None


def test_unknown_ids_and_malformed_records(store):
    owner = Owner()
    window = window_with(store, {"net": owner})
    with pytest.raises(NoSuchChange):
        window.confirm("nope", "admin")
    store.write_bytes(change_window.FILE, b'{"id": 5}')
    assert window_with(store, {"net": owner}).pending() is None
    store.write_bytes(change_window.FILE, b"not json")
    assert window_with(store, {"net": owner}).pending() is None
