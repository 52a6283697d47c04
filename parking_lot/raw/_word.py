"""The raw locks' state words: one 64-bit word per lock, with two implementations.

A lock keeps its state in a *word* made by :func:`new_word` and changes it only
through the operations of this module, each one call, so that the lock's logic
(its slow paths on the parking lot) is written once, above both implementations:

``c``         the compiled cffi module ``parking_lot._ffi._atomics`` (API mode, built
              by ``build_ffi.py`` where a C compiler is present): the word is an
              ``int64_t`` from ``ffi.new``, each operation one C function doing the
              compare-and-swap loop ``raw_rwlock.rs`` does, with the memory orderings
              argued in its source (acquire on lock, release on unlock).  A C call
              cannot be cut in two by an asynchronous exception (signal handlers run
              between bytecodes), so every operation is one step.
``portable``  pure Python, anywhere (the Windows lane, installs without a compiler):
              the word is a :class:`PortableWord`, an int guarded by a ``_thread``
              lock; each operation changes it under ``with word.lock:`` with the
              store and the result on one line (marked one-step), as the locks did
              before the C path existed.

The two agree on every operation (tests/test_word.py checks them against each other
on random sequences).  The C implementation runs when the module is built and
importable, else the portable one; ``PARKING_LOT_ATOMICS=c`` or ``=portable`` forces
one (``c`` where the module is missing fails at import, saying why).
``python -m parking_lot info`` says which runs and, if portable, why.

Operations (*w* a word; ``rw_*`` use RawRwLock's bit layout, parking_lot/raw/rwlock.py):

==============================  ============================================================
``load(w)``                      the value (int)
``store(w, v)``                  set it
``cas(w, expected, new)``        1 if the value was *expected* and is now *new*, else 0
``fetch_add/or/and(w, x)``       the old value; the word becomes old + x, old | x, old & x
``rw_try_shared(w)``             1 and one more reader unless WRITER is set, else 0
``rw_try_shared_recursive(w)``   the same, but blocked only by WRITER with no reader left
``rw_unlock_shared(w)``          -1 (no change) if no plain reader; else one reader less, 1
                                 if the caller must wake the writer parked for the readers
``rw_try_exclusive(w)``          1 and WRITER if nobody holds the lock, else 0
``rw_unlock_exclusive(w)``       0: WRITER -> 0 done; 1: threads parked (slow path); -1
``rw_take_writer(w, owned)``     1, WRITER taken and ``owned`` set to 1, unless WRITER or
                                 UPGRADABLE is set (0)
``rw_try_upgradable(w)``         1 and ONE_READER | UPGRADABLE unless WRITER or UPGRADABLE
``rw_unlock_upgradable(w)``      0: dropped; 1: threads parked (slow path); -1: not held
``rw_unlock_upgradable_slow``    ``(w, granted, parked)``: the unlock's callback step
``rw_try_upgrade(w)``            1: upgraded; 0: other readers; -1: not held
``rw_upgrade_take_writer``       ``(w, owned)``: ONE_READER | UPGRADABLE -> WRITER, owned = 1
``rw_downgrade(w, add)``         -1 unless a writer holds it; else WRITER -> *add*, old value
``rw_downgrade_upgradable(w)``   -1 unless UPGRADABLE; else UPGRADABLE cleared, old value
``rw_give_writer_back``          ``(w, prev, owned)``: WRITER, WRITER_PARKED cleared, *prev*
                                 added, owned = 0
``rw_set_parked_if(w, flags)``   0 if none of *flags* is set, else PARKED set and 1
``rw_writer_may_sleep(w)``       0 if no reader is left, else WRITER_PARKED set and 1
==============================  ============================================================

>>> w = new_word()
>>> rw_try_shared(w), load(w), rw_unlock_shared(w), load(w), rw_unlock_shared(w)
(1, 16, 0, 0, -1)
"""

from __future__ import annotations

import _thread
import os
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

__all__ = [
    "ENV_VAR",
    "IMPLEMENTATIONS",
    "OPERATIONS",
    "PortableWord",
    "implementation",
    "implementations",
    "unavailable_reason",
    "why_portable",
]

ENV_VAR = "PARKING_LOT_ATOMICS"
#: Every implementation, preferred first.
IMPLEMENTATIONS = ("c", "portable")

PARKED = 0b0001
WRITER_PARKED = 0b0010
UPGRADABLE = 0b0100
WRITER = 0b1000
READERS_MASK = ~0b1111
ONE_READER = 0b10000

#: A state word: an ``int64_t *`` cdata (``c``) or a :class:`PortableWord`.
Word = Any


# --- portable ------------------------------------------------------------------------------


class PortableWord:
    """A state word in pure Python: ``value`` (int), changed only under ``lock``."""

    __slots__ = ("value", "lock")

    def __init__(self, value: int = 0) -> None:
        self.value = value
        self.lock = _thread.allocate_lock()

    def __repr__(self) -> str:
        return f"<PortableWord {self.value:#b}>"


def _p_load(w: PortableWord) -> int:
    """The word's value (int)."""
    return w.value


def _p_store(w: PortableWord, value: int) -> None:
    """Set the word to *value*."""
    with w.lock:
        w.value = value


def _p_cas(w: PortableWord, expected: int, desired: int) -> int:
    """1 if the word held *expected* and now holds *desired*, else 0 (unchanged)."""
    with w.lock:
        if w.value != expected:
            return 0
        w.value = desired; return 1  # one-step: the word changes iff 1 is returned


def _p_fetch_add(w: PortableWord, delta: int) -> int:
    """Add *delta*; return the old value."""
    with w.lock:
        old = w.value
        w.value = old + delta; return old  # one-step: the caller learns the old value of the change it made


def _p_fetch_or(w: PortableWord, bits: int) -> int:
    """Set *bits*; return the old value."""
    with w.lock:
        old = w.value
        w.value = old | bits; return old  # one-step: the caller learns the old value of the change it made


def _p_fetch_and(w: PortableWord, mask: int) -> int:
    """Keep only *mask*'s bits; return the old value."""
    with w.lock:
        old = w.value
        w.value = old & mask; return old  # one-step: the caller learns the old value of the change it made


def _p_rw_try_shared(w: PortableWord) -> int:
    """1 and one more reader unless WRITER is set, else 0."""
    with w.lock:
        state = w.value
        if state & WRITER:
            return 0
        w.value = state + ONE_READER; return 1  # one-step: a read lock is taken iff 1 is returned


def _p_rw_try_shared_recursive(w: PortableWord) -> int:
    """1 and one more reader unless WRITER is set with no reader left, else 0."""
    with w.lock:
        state = w.value
        if state & WRITER and not state & READERS_MASK:
            return 0
        w.value = state + ONE_READER; return 1  # one-step: a read lock is taken iff 1 is returned


def _p_rw_unlock_shared(w: PortableWord) -> int:
    """-1 (unchanged) if no plain reader; else one reader less: 1 if the parked writer must be woken, else 0."""
    with w.lock:
        state = w.value
        if (state >> 4) <= (1 if state & UPGRADABLE else 0):
            return -1
        w.value = state - ONE_READER; return 1 if state & (READERS_MASK | WRITER_PARKED) == ONE_READER | WRITER_PARKED else 0  # one-step: the read lock is released iff -1 is not returned


def _p_rw_try_exclusive(w: PortableWord) -> int:
    """1 and WRITER if nobody holds the lock in any mode, else 0."""
    with w.lock:
        state = w.value
        if state & ~(PARKED | WRITER_PARKED):
            return 0
        w.value = state | WRITER; return 1  # one-step: WRITER is taken iff 1 is returned


def _p_rw_unlock_exclusive(w: PortableWord) -> int:
    """0: WRITER -> 0 done; 1: threads are parked (slow path); -1: no writer holds it."""
    with w.lock:
        state = w.value
        if not state & WRITER or state & READERS_MASK:
            return -1
        if state != WRITER:
            return 1
        w.value = 0; return 0  # one-step: the write lock is released iff 0 is returned


def _p_rw_take_writer(w: PortableWord, owned: PortableWord) -> int:
    """1, WRITER taken and *owned* set to 1, unless WRITER or UPGRADABLE is set (0)."""
    with w.lock:
        state = w.value
        if state & (WRITER | UPGRADABLE):
            return 0
        w.value = state | WRITER; owned.value = 1; return 1  # one-step: WRITER is taken iff recorded in owned and reported


def _p_rw_try_upgradable(w: PortableWord) -> int:
    """1 and ONE_READER | UPGRADABLE unless WRITER or UPGRADABLE is set, else 0."""
    with w.lock:
        state = w.value
        if state & (WRITER | UPGRADABLE):
            return 0
        w.value = state + ONE_READER + UPGRADABLE; return 1  # one-step: the upgradable lock is taken iff 1 is returned


def _p_rw_unlock_upgradable(w: PortableWord) -> int:
    """0: the upgradable lock dropped; 1: threads are parked (slow path); -1: not held."""
    with w.lock:
        state = w.value
        if not state & UPGRADABLE:
            return -1
        if state & PARKED:
            return 1
        w.value = state - ONE_READER - UPGRADABLE; return 0  # one-step: the upgradable lock is released iff 0 is returned


def _p_rw_unlock_upgradable_slow(w: PortableWord, granted: int, parked: int) -> int:
    """The upgradable unlock's callback step: drop it, add *granted*, PARKED := *parked*; the new value."""
    with w.lock:
        new = ((w.value - ONE_READER - UPGRADABLE + granted) & ~PARKED) | parked
        w.value = new; return new  # one-step: the new state returned is the one stored


def _p_rw_try_upgrade(w: PortableWord) -> int:
    """1: ONE_READER | UPGRADABLE traded for WRITER; 0: other readers remain; -1: not held."""
    with w.lock:
        state = w.value
        if not state & UPGRADABLE:
            return -1
        if state & READERS_MASK != ONE_READER:
            return 0
        w.value = state - ONE_READER - UPGRADABLE + WRITER; return 1  # one-step: the upgrade happens iff 1 is returned


def _p_rw_upgrade_take_writer(w: PortableWord, owned: PortableWord) -> None:
    """ONE_READER | UPGRADABLE -> WRITER, and *owned* set to 1."""
    with w.lock:
        w.value = w.value - ONE_READER - UPGRADABLE + WRITER; owned.value = 1  # one-step: WRITER is taken iff recorded in owned


def _p_rw_downgrade(w: PortableWord, add: int) -> int:
    """-1 unless a writer holds the lock; else WRITER -> *add*, returning the old value."""
    with w.lock:
        state = w.value
        if not state & WRITER or state & READERS_MASK:
            return -1
        w.value = state - WRITER + add; return state  # one-step: the downgrade happens iff -1 is not returned


def _p_rw_downgrade_upgradable(w: PortableWord) -> int:
    """-1 unless UPGRADABLE is set; else UPGRADABLE cleared, returning the old value."""
    with w.lock:
        state = w.value
        if not state & UPGRADABLE:
            return -1
        w.value = state - UPGRADABLE; return state  # one-step: the downgrade happens iff -1 is not returned


def _p_rw_give_writer_back(w: PortableWord, prev_value: int, owned: PortableWord) -> None:
    """WRITER and WRITER_PARKED cleared, *prev_value* added, and *owned* set to 0."""
    with w.lock:
        w.value = (w.value & ~(WRITER | WRITER_PARKED)) + prev_value; owned.value = 0  # one-step: WRITER is given back iff the record in owned says so


def _p_rw_set_parked_if(w: PortableWord, flags: int) -> int:
    """0 if none of *flags* is set, else PARKED set and 1."""
    with w.lock:
        state = w.value
        if not state & flags:
            return 0
        w.value = state | PARKED; return 1  # one-step: PARKED is set iff 1 is returned (the thread parks)


def _p_rw_writer_may_sleep(w: PortableWord) -> int:
    """0 if no reader is left, else WRITER_PARKED set and 1."""
    with w.lock:
        state = w.value
        if not state & READERS_MASK:
            return 0
        w.value = state | WRITER_PARKED; return 1  # one-step: WRITER_PARKED is set iff 1 is returned (the writer parks)


#: The operations every implementation provides, by name (the C function is ``pl_word_<name>``
#: for the generic ones, ``pl_<name>`` for the ``rw_*`` ones).
OPERATIONS = (
    "load", "store", "cas", "fetch_add", "fetch_or", "fetch_and",
    "rw_try_shared", "rw_try_shared_recursive", "rw_unlock_shared", "rw_try_exclusive",
    "rw_unlock_exclusive", "rw_take_writer", "rw_try_upgradable", "rw_unlock_upgradable",
    "rw_unlock_upgradable_slow", "rw_try_upgrade", "rw_upgrade_take_writer", "rw_downgrade",
    "rw_downgrade_upgradable", "rw_give_writer_back", "rw_set_parked_if", "rw_writer_may_sleep",
)

_PORTABLE = SimpleNamespace(new_word=PortableWord, **{name: globals()["_p_" + name] for name in OPERATIONS})


# --- c -------------------------------------------------------------------------------------

try:
    from parking_lot._ffi._atomics import ffi as _ffi
    from parking_lot._ffi._atomics import lib as _lib
except ImportError as exc:  # built without a C compiler, or the ABI-only Windows staging
    _C_MISSING: str | None = (
        f"the compiled module parking_lot._ffi._atomics is missing ({exc}); reinstall with a C compiler "
        "on PATH (pip install --force-reinstall --no-binary parking-lot-cffi parking-lot-cffi)"
    )
    _C: SimpleNamespace | None = None
else:
    _C_MISSING = None

    def _new_c_word(value: int = 0) -> Any:
        """A new ``int64_t`` word holding *value*, freed with the cdata."""
        return _ffi.new("int64_t *", value)

    _C = SimpleNamespace(
        new_word=_new_c_word,
        **{name: getattr(_lib, ("pl_" if name.startswith("rw_") else "pl_word_") + name) for name in OPERATIONS},
    )


def unavailable_reason(name: str) -> str | None:
    """None if implementation *name* can run here, else why not; ValueError for an unknown name."""
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"unknown atomics implementation {name!r}; the implementations are {', '.join(IMPLEMENTATIONS)}")
    return _C_MISSING if name == "c" else None


def implementations() -> dict[str, SimpleNamespace]:
    """Every implementation that can run here, by name: ``new_word`` and each of :data:`OPERATIONS`."""
    found = {"portable": _PORTABLE}
    if _C is not None:
        found = {"c": _C, **found}
    return found


def _select() -> tuple[str, str | None]:
    forced = os.environ.get(ENV_VAR, "").strip()
    if not forced:
        return ("c", None) if _C is not None else ("portable", _C_MISSING)
    if forced not in IMPLEMENTATIONS or unavailable_reason(forced) is not None:
        why = "unknown" if forced not in IMPLEMENTATIONS else f"unavailable ({unavailable_reason(forced)})"
        raise ImportError(f"{ENV_VAR}={forced!r} is {why}; this installation offers: {', '.join(implementations())}")
    return forced, (f"forced by {ENV_VAR}=portable" if forced == "portable" else None)


_NAME, _WHY_PORTABLE = _select()
_OPS = implementations()[_NAME]


def implementation() -> str:
    """The implementation the locks use in this process: ``"c"`` or ``"portable"``."""
    return _NAME


def why_portable() -> str | None:
    """Why the portable implementation runs (None when the C one does)."""
    return _WHY_PORTABLE


# The operations of the implementation in use, bound once (the locks call these names).
new_word: Callable[..., Word] = _OPS.new_word
load: Callable[[Word], int] = _OPS.load
store: Callable[[Word, int], None] = _OPS.store
cas: Callable[[Word, int, int], int] = _OPS.cas
fetch_add: Callable[[Word, int], int] = _OPS.fetch_add
fetch_or: Callable[[Word, int], int] = _OPS.fetch_or
fetch_and: Callable[[Word, int], int] = _OPS.fetch_and
rw_try_shared: Callable[[Word], int] = _OPS.rw_try_shared
rw_try_shared_recursive: Callable[[Word], int] = _OPS.rw_try_shared_recursive
rw_unlock_shared: Callable[[Word], int] = _OPS.rw_unlock_shared
rw_try_exclusive: Callable[[Word], int] = _OPS.rw_try_exclusive
rw_unlock_exclusive: Callable[[Word], int] = _OPS.rw_unlock_exclusive
rw_take_writer: Callable[[Word, Word], int] = _OPS.rw_take_writer
rw_try_upgradable: Callable[[Word], int] = _OPS.rw_try_upgradable
rw_unlock_upgradable: Callable[[Word], int] = _OPS.rw_unlock_upgradable
rw_unlock_upgradable_slow: Callable[[Word, int, int], int] = _OPS.rw_unlock_upgradable_slow
rw_try_upgrade: Callable[[Word], int] = _OPS.rw_try_upgrade
rw_upgrade_take_writer: Callable[[Word, Word], None] = _OPS.rw_upgrade_take_writer
rw_downgrade: Callable[[Word, int], int] = _OPS.rw_downgrade
rw_downgrade_upgradable: Callable[[Word], int] = _OPS.rw_downgrade_upgradable
rw_give_writer_back: Callable[[Word, int, Word], None] = _OPS.rw_give_writer_back
rw_set_parked_if: Callable[[Word, int], int] = _OPS.rw_set_parked_if
rw_writer_may_sleep: Callable[[Word], int] = _OPS.rw_writer_may_sleep
