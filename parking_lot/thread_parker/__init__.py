"""Thread parkers: how one thread sleeps until another wakes it.

Four backends implement the contract of :mod:`parking_lot.thread_parker._base`
(``prepare_park`` / ``park`` / ``park_until`` / ``timed_out`` / ``unpark_lock`` /
``UnparkHandle.unpark``):

``wait_address``  Windows 8+: WaitOnAddress / WakeByAddressSingle.
``keyed_event``   Windows: NT keyed events from ntdll.
``futex``         Linux: FUTEX_WAIT_PRIVATE / FUTEX_WAKE_PRIVATE.
``portable``      anywhere: a lock object (``_thread.lock``) per park.

The choice follows parking_lot: on Windows WaitOnAddress if present, else keyed
events; on Linux the futex; elsewhere the portable parker.  Set the environment
variable ``PARKING_LOT_PARKER`` to one of the names above to force a backend;
an unknown or unavailable name fails at import with the list this platform offers.

>>> from parking_lot import thread_parker
>>> thread_parker.backend_name() in thread_parker.available_backends()
True
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import Callable

from ._base import NOOP_UNPARK_HANDLE, ThreadParker, UnparkBatch, UnparkHandle

__all__ = [
    "BACKENDS",
    "NOOP_UNPARK_HANDLE",
    "ThreadParker",
    "UnparkBatch",
    "UnparkHandle",
    "available_backends",
    "backend_module",
    "backend_name",
    "new_parker",
    "parker_class",
    "unavailable_reason",
]

#: Every backend name, in parking_lot's order of preference.
BACKENDS = ("wait_address", "keyed_event", "futex", "portable")
_CLASS_NAMES = {
    "wait_address": "WaitAddressParker",
    "keyed_event": "KeyedEventParker",
    "futex": "FutexParker",
    "portable": "PortableParker",
}
ENV_VAR = "PARKING_LOT_PARKER"


def backend_module(name: str) -> ModuleType:
    """Import and return the module of backend *name* (importable on every OS)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown parker backend {name!r}; the backends are {', '.join(BACKENDS)}")
    return importlib.import_module(f"{__name__}.{name}")


def unavailable_reason(name: str) -> str | None:
    """None if backend *name* can run on this machine, else the reason it cannot."""
    module = backend_module(name)
    if name == "portable":
        return None
    reason: str | None = module.unavailable_reason()
    return reason


def available_backends() -> tuple[str, ...]:
    """The backends that can run here, most preferred first."""
    return tuple(name for name in BACKENDS if unavailable_reason(name) is None)


def parker_class(name: str) -> Callable[[], ThreadParker]:
    """The parker class of backend *name*; raises RuntimeError if it cannot run here."""
    reason = unavailable_reason(name)
    if reason is not None:
        raise RuntimeError(f"parker backend {name!r} is unavailable here: {reason}")
    cls: Callable[[], ThreadParker] = getattr(backend_module(name), _CLASS_NAMES[name])
    return cls


def _default_backend() -> str:
    if sys.platform == "win32":
        candidates: tuple[str, ...] = ("wait_address", "keyed_event")
    elif sys.platform.startswith("linux"):
        candidates = ("futex",)
    else:
        candidates = ()
    for name in candidates:
        if unavailable_reason(name) is None:
            return name
    return "portable"


def _select() -> str:
    forced = os.environ.get(ENV_VAR, "").strip()
    if not forced:
        return _default_backend()
    if forced not in BACKENDS or unavailable_reason(forced) is not None:
        why = "unknown" if forced not in BACKENDS else f"unavailable ({unavailable_reason(forced)})"
        raise ImportError(
            f"{ENV_VAR}={forced!r} is {why}; this platform offers: {', '.join(available_backends())}"
        )
    return forced


_BACKEND = _select()
#: Constructor of the parker in use: one instance per thread, made by the parking lot.
new_parker: Callable[[], ThreadParker] = parker_class(_BACKEND)


def backend_name() -> str:
    """The name of the backend the parking lot uses in this process."""
    return _BACKEND
