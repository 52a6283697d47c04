"""Every lock declares what its methods do to what the thread holds (parking_lot/raw/_tracking.py).

The deadlock detector records only what the locks declare, so a public method left
out of the declarations would change what a thread holds unseen: these tests fail
for any public method of any lock or guard class (and for any class of the lock
modules that defines one) that no declaration covers.
"""

from __future__ import annotations

import enum
import importlib
import inspect

import pytest

from parking_lot import deadlock
from parking_lot.raw import _tracking

LOCK_MODULES = [
    "parking_lot.raw.mutex", "parking_lot.raw.rwlock", "parking_lot.raw.reentrant", "parking_lot.raw.condvar",
    "parking_lot.raw.once", "parking_lot.raw.semaphore", "parking_lot.raw.event", "parking_lot.raw.barrier",
    "parking_lot.mutex", "parking_lot.rwlock", "parking_lot.reentrant_mutex", "parking_lot.condvar", "parking_lot.compat",
    "parking_lot.aio",
]
#: Public names that are not methods of the protocol but of Python's (or typing's) machinery.
DUNDERS = ("__enter__", "__exit__", "__aenter__", "__aexit__", "__await__", "__call__")


def _is_method(obj: object) -> bool:
    return inspect.isfunction(obj) or isinstance(obj, (staticmethod, classmethod))


def lock_classes() -> list[type]:
    """The classes of the lock modules that define a public method (records, enums, errors aside)."""
    classes = []
    for name in LOCK_MODULES:
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if not isinstance(cls, type) or cls.__module__ != module.__name__:
                continue
            if issubclass(cls, (BaseException, enum.Enum, tuple)):
                continue
            if any(_is_public(attr) and _is_method(value) for attr, value in vars(cls).items()):
                classes.append(cls)
    return classes


def _is_public(name: str) -> bool:
    return not name.startswith("_") or name in DUNDERS


def undeclared(classes: list[type]) -> list[str]:
    """``Class.method`` for every public method of *classes* that no declaration covers."""
    declared = {cls: methods for cls, methods in _tracking.DECLARED}
    missing = []
    for cls in classes:
        if cls in _tracking.OWNERLESS:
            continue
        if cls not in declared:
            missing.append(f"{cls.__qualname__} (no declaration at all)")
            continue
        for name in sorted(dir(cls)):
            if not _is_public(name):
                continue
            owner = next(c for c in cls.__mro__ if name in vars(c))
            if owner.__module__ in ("builtins", "typing") or not _is_method(vars(owner)[name]):
                continue  # object's and Generic's own, properties, data
            if name not in declared.get(owner, {}):
                missing.append(f"{owner.__qualname__}.{name} (public on {cls.__qualname__})")
    return sorted(set(missing))


def test_every_public_method_of_every_lock_and_guard_is_declared_tracked_or_transparent():
    classes = lock_classes()
    names = {cls.__qualname__ for cls in classes}
    # The check sees the classes it must (a typo in LOCK_MODULES would make it pass vacuously).
    assert {"RawMutex", "RawFairMutex", "RawRwLock", "RawReentrantMutex", "Condvar", "Once", "Mutex",
            "MutexGuard", "RwLock", "ReadGuard", "UpgradableReadGuard", "WriteGuard", "ReentrantMutex",
            "ReentrantMutexGuard", "Lock", "RLock", "Condition", "Semaphore", "Event", "Barrier", "RawSemaphore", "RawEvent",
            "RawBarrier"} <= names
    assert undeclared(classes) == []


def test_the_check_fails_for_a_method_nobody_declared():
    from parking_lot.raw import RawMutex

    class WithAFastPath(RawMutex):
        def lock_quickly(self) -> None:
            self.lock()

    name = WithAFastPath.__qualname__
    assert undeclared([WithAFastPath]) == [f"{name} (no declaration at all)"]
    _tracking.declare(WithAFastPath, lock_quickly=_tracking.TRANSPARENT)
    try:
        assert undeclared([WithAFastPath]) == []

        def unlock_quickly(self: RawMutex) -> None:
            self.unlock()

        WithAFastPath.unlock_quickly = unlock_quickly  # type: ignore[attr-defined]
        assert undeclared([WithAFastPath]) == [f"{name}.unlock_quickly (public on {name})"]
    finally:
        _tracking.DECLARED[:] = [entry for entry in _tracking.DECLARED if entry[0] is not WithAFastPath]


def test_a_declaration_must_name_a_method_the_class_defines():
    from parking_lot.raw import RawFairMutex

    with pytest.raises(ValueError, match="RawFairMutex.lock is not defined by RawFairMutex"):
        _tracking.declare(RawFairMutex, lock=_tracking.TRANSPARENT)  # inherited: RawMutex declares it


def test_enable_wraps_every_tracked_method_and_disable_restores_the_very_same_functions():
    """Off, the locks run exactly their own methods: detection costs nothing."""
    assert not deadlock.is_enabled()
    originals = {(cls, name): vars(cls)[name] for cls, methods in _tracking.DECLARED for name in methods}
    tracked = {key for key, spec in
               (((cls, name), spec) for cls, methods in _tracking.DECLARED for name, spec in methods.items())
               if spec is not _tracking.TRANSPARENT}
    assert len(tracked) > 50
    deadlock.enable()
    try:
        for cls, name in originals:
            wrapped = vars(cls)[name] is not originals[cls, name]
            assert wrapped == ((cls, name) in tracked), f"{cls.__qualname__}.{name}"
    finally:
        deadlock.disable()
    assert all(vars(cls)[name] is function for (cls, name), function in originals.items())
