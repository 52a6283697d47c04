"""RwLock[T]: guards for each mode, upgrade and downgrade through the guards."""

from __future__ import annotations

import pytest

from conftest import start
from parking_lot.rwlock import RwLock


def test_modes_through_guards():
    rw = RwLock([1])
    with rw.read() as a, rw.read() as b:
        assert a.value is b.value
        assert start(rw.try_write).finish() is None
    with rw.write() as w:
        w.value = [2]
        assert start(rw.try_read).finish() is None
    guard = rw.try_read_for(0)
    assert guard.value == [2]
    guard.unlock()
    assert not rw.is_locked()


def test_guards_are_single_use_and_replacing_needs_the_write_lock():
    rw = RwLock(0)
    r = rw.read()
    r.unlock()
    with pytest.raises(RuntimeError, match="released"):
        r.value
    with pytest.raises(RuntimeError):
        r.unlock()
    with rw.read() as r:
        with pytest.raises(AttributeError):
            r.value = 5  # read guards cannot replace the value
    assert not rw.is_locked()


def test_upgrade_and_downgrade_consume_the_guard():
    rw = RwLock({"n": 0})
    up = rw.upgradable_read()
    reader = start(rw.try_read).finish()
    assert reader is not None  # readers share with the upgradable reader
    reader.unlock()
    w = up.upgrade()
    with pytest.raises(RuntimeError):
        up.value
    assert rw.is_locked_exclusive()
    w.value["n"] += 1
    r = w.downgrade()
    assert not rw.is_locked_exclusive() and r.value == {"n": 1}
    r.unlock()
    with rw.write() as w:
        up = w.downgrade_to_upgradable()
    # the with block's exit does nothing for a consumed guard; the new one is ours to release
    assert rw.is_locked() and not rw.is_locked_exclusive()
    w = up.try_upgrade_for(0.01)
    assert w is not None and rw.is_locked_exclusive()
    w.unlock()
    assert not rw.is_locked()


def test_try_forms_return_none_when_busy():
    rw = RwLock(None)
    with rw.write():
        assert start(rw.try_read_for, 0.01).finish() is None
        assert start(rw.try_upgradable_read_for, 0.01).finish() is None
        assert start(rw.try_write_for, 0.01).finish() is None
        assert start(rw.try_upgradable_read).finish() is None
    g = rw.try_upgradable_read()
    assert g is not None and rw.try_upgradable_read() is None
    g.downgrade().unlock()
    assert not rw.is_locked()
    assert "unlocked" in repr(rw)


def test_read_recursive_and_fair_unlock():
    rw = RwLock(0)
    with rw.read(), rw.read_recursive() as r:
        assert r.value == 0
    w = rw.write()
    w.unlock_fair()
    assert not rw.is_locked()
