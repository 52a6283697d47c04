"""RwLock[T]: guards for each mode, upgrade and downgrade through the guards."""

from __future__ import annotations

import pytest

from conftest import BOUND, start
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
    up = rw.write().downgrade_to_upgradable()  # no with: the new guard is ours to release
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


# --- a with block answers for what its guard became ---------------------------------

#: guard kind -> the transitions it has: (method, the kind it becomes)
_TRANSITIONS = {
    "write": [("downgrade", "read"), ("downgrade_to_upgradable", "upgradable")],
    "upgradable": [("upgrade", "write"), ("try_upgrade_for", "write"), ("downgrade", "read")],
    "read": [],
}


def _chains(kind, length):
    if length == 0:
        return [[]]
    longer = [[]]
    for method, to in _TRANSITIONS[kind]:
        longer += [[method] + rest for rest in _chains(to, length - 1)]
    return longer


_CHAINS = sorted(
    {(start, tuple(chain)) for start in ("write", "upgradable") for chain in _chains(start, 3) if chain}
)


def _step(guard, method):
    return guard.try_upgrade_for(BOUND) if method == "try_upgrade_for" else getattr(guard, method)()


def _acquire(rw, kind):
    return rw.write() if kind == "write" else rw.upgradable_read()


def _assert_free_for_everyone(rw):
    assert not rw.is_locked() and rw._raw.readers == 0, repr(rw)
    assert start(lambda: rw.try_write() is not None and rw._raw.unlock_exclusive() is None).finish()


@pytest.mark.parametrize("start_kind, chain", _CHAINS, ids=lambda v: "-".join(v) if isinstance(v, tuple) else v)
@pytest.mark.parametrize("how", ["normal exit", "exception in the block"])
def test_leaving_the_block_releases_what_the_guard_became(start_kind, chain, how):
    rw = RwLock(0)

    class Boom(Exception):
        pass

    try:
        with _acquire(rw, start_kind) as first:
            guard = first
            for method in chain:
                guard = _step(guard, method)
                assert guard is not None
            assert rw.is_locked()
            if how != "normal exit":
                raise Boom
    except Boom:
        pass
    assert first._lock is None
    _assert_free_for_everyone(rw)
    with pytest.raises(RuntimeError):
        guard.value  # the successor was released by the first guard's block


@pytest.mark.parametrize("start_kind, chain", _CHAINS, ids=lambda v: "-".join(v) if isinstance(v, tuple) else v)
@pytest.mark.parametrize("released_by", ["unlock", "its own with"])
def test_a_successor_already_released_is_not_released_twice(start_kind, chain, released_by):
    """The last guard of the chain is released before the first one's block ends; a read
    lock taken after it must survive the block's exit (a second release would drop it)."""
    rw = RwLock(0)
    with _acquire(rw, start_kind) as guard:
        for method in chain[:-1]:
            guard = _step(guard, method)
        if released_by == "unlock":
            _step(guard, chain[-1]).unlock()
        else:
            with _step(guard, chain[-1]):
                pass
        assert not rw.is_locked()
        other = rw.read()  # taken after the chain ended: not the block's to release
    assert rw._raw.readers == 1 and not rw.is_locked_exclusive(), repr(rw)
    other.unlock()
    _assert_free_for_everyone(rw)


def test_the_reported_input_upgrade_inside_the_upgradable_block():
    rw = RwLock(0)
    with rw.upgradable_read() as u:
        w = u.upgrade()
        w.value = 5
    _assert_free_for_everyone(rw)
    with rw.read() as r:
        assert r.value == 5


def test_middle_of_a_chain_released_by_its_own_with_releases_the_end():
    """upgradable -> (with) write -> read: the write guard's block answers for the read guard."""
    rw = RwLock(0)
    with rw.upgradable_read() as u:
        with u.upgrade() as w:
            r = w.downgrade()
        assert r._lock is None and not rw.is_locked()  # released by w's block, not u's
        other = rw.read()
    assert rw._raw.readers == 1
    other.unlock()
    _assert_free_for_everyone(rw)


def test_a_failed_try_upgrade_leaves_the_guard_to_its_block():
    rw = RwLock(0)
    reader = rw.read()  # keeps the upgrade from happening
    with rw.upgradable_read() as u:
        assert start(lambda: u.try_upgrade_for(0.01)).finish() is None
        assert u.value == 0  # still held
    assert rw._raw.readers == 1 and not rw.is_locked_exclusive()
    reader.unlock()
    _assert_free_for_everyone(rw)


def test_a_successor_kept_without_a_with_is_the_callers():
    rw = RwLock(0)
    reader = rw.write().downgrade()  # no with: nobody releases it but the caller
    assert rw._raw.readers == 1
    reader.unlock()
    _assert_free_for_everyone(rw)
