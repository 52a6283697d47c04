"""parking_lot: Rust's parking lot for Python, on the OS wait primitives through cffi.

``parking_lot.core`` is the parking lot itself (``park`` / ``unpark_one`` /
``unpark_all`` / ``unpark_requeue`` / ``unpark_filter`` on integer keys);
``parking_lot.thread_parker`` holds the per-OS backends it sleeps on (futex, NT
keyed events, WaitOnAddress, a portable one).  ``python -m parking_lot info``
says which backend this machine uses.
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
