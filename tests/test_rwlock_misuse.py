"""Releasing or converting a RawRwLock hold that nobody has: RuntimeError, state unchanged.

DESIGN rule 7 (bad input): the error is raised before anything changes.  Ownership is not
recorded (in Rust these methods are ``unsafe``), so what is caught is a mode no thread holds:
every releasing and converting method, on a free lock and on a lock held in the other modes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from parking_lot.raw import RawRwLock

# What each method needs someone to hold: "write", "read" (a plain reader) or "upgradable".
NEEDS = {
    "unlock_exclusive": "write",
    "unlock_exclusive_fair": "write",
    "bump_exclusive": "write",
    "downgrade": "write",
    "downgrade_to_upgradable": "write",
    "unlock_shared": "read",
    "unlock_shared_fair": "read",
    "bump_shared": "read",
    "unlock_upgradable": "upgradable",
    "unlock_upgradable_fair": "upgradable",
    "bump_upgradable": "upgradable",
    "downgrade_upgradable": "upgradable",
    "try_upgrade": "upgradable",
    "upgrade": "upgradable",
}
CALLS: dict[str, Callable[[RawRwLock], object]] = {name: (lambda n: lambda rw: getattr(rw, n)())(name) for name in NEEDS}
CALLS["try_upgrade_for"] = lambda rw: rw.try_upgrade_for(0.01)
CALLS["try_upgrade_until"] = lambda rw: rw.try_upgrade_until(0.0)
NEEDS["try_upgrade_for"] = NEEDS["try_upgrade_until"] = "upgradable"

# Situations, each holding some modes (and none of the others).
SITUATIONS: dict[str, tuple[Callable[[RawRwLock], None], set[str]]] = {
    "free": (lambda rw: None, set()),
    "a writer": (lambda rw: rw.lock_exclusive(), {"write"}),
    "two readers": (lambda rw: (rw.lock_shared(), rw.lock_shared()) and None, {"read"}),
    "an upgradable reader alone": (lambda rw: rw.lock_upgradable(), {"upgradable"}),
    "an upgradable reader and a reader": (lambda rw: (rw.lock_upgradable(), rw.lock_shared()) and None,
                                          {"upgradable", "read"}),
}

CASES = [
    (method, situation)
    for method in CALLS
    for situation, (_, held) in SITUATIONS.items()
    if NEEDS[method] not in held
]


@pytest.mark.parametrize("method, situation", CASES)
def test_a_hold_nobody_has_raises_and_changes_nothing(method, situation):
    rw = RawRwLock()
    SITUATIONS[situation][0](rw)
    before = rw._state
    with pytest.raises(RuntimeError, match=f"^RawRwLock\\.\\w+\\(\\): no thread holds the {NEEDS[method]} lock$"):
        CALLS[method](rw)
    assert rw._state == before


@pytest.mark.parametrize("method", sorted(CALLS))
def test_the_same_methods_work_for_the_holder(method):
    # The check does not refuse the legitimate call (a lock held in the needed mode).
    rw = RawRwLock()
    setup = {"write": rw.lock_exclusive, "read": rw.lock_shared, "upgradable": rw.lock_upgradable}
    setup[NEEDS[method]]()
    CALLS[method](rw)
