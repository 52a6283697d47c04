"""A read-mostly cache on RwLock with upgradable reads.

Readers share the lock.  On a miss, a thread takes the *upgradable* read lock
(readers still get in, other upgraders and writers wait), checks again, and
upgrades to the write lock only to fill the entry, so a value is computed once.
"""

import threading

from parking_lot import RwLock

cache: RwLock[dict[int, int]] = RwLock({})
computed = []


def expensive(key: int) -> int:
    computed.append(key)
    return key * key


def lookup(key: int) -> int:
    with cache.read() as guard:  # the fast path: shared
        if key in guard.value:
            return guard.value[key]
    with cache.upgradable_read() as guard:
        if key in guard.value:  # someone filled it meanwhile
            return guard.value[key]
        with guard.upgrade() as writer:  # waits for the readers to leave
            writer.value[key] = value = expensive(key)
            return value


def worker(results: list[int]) -> None:
    results.extend(lookup(key % 10) for key in range(200))


results: list[int] = []
threads = [threading.Thread(target=worker, args=(results,)) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(10)
print(f"{len(results)} lookups by 8 threads, {len(computed)} computations (one per key: {sorted(computed)})")
assert sorted(computed) == list(range(10))
