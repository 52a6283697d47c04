"""Worker threads and asyncio tasks sharing one read-mostly cache on one RwLock.

The same ``RwLock`` serves both worlds: threads take it with the blocking methods
(``read()``, ``upgradable_read()``, ``upgrade()``), tasks with their awaitable twins
(``read_async()``, ``upgradable_read_async()``, ``upgrade_async()``), and a task that
waits for the lock parks on the lock's queue without blocking its event loop, so the
loop's other tasks run meanwhile.  On a miss, the caller takes the *upgradable* read
lock (readers still get in; other upgraders and writers wait), checks again and
upgrades only to fill the entry: each value is computed exactly once, by whichever
thread or task came first.
"""

from __future__ import annotations

import asyncio
import threading

from parking_lot import RwLock

KEYS = 12
cache: RwLock[dict[int, str]] = RwLock({})
computed: list[tuple[str, int]] = []  # (who, key), appended under the write lock


def compute(who: str, key: int) -> str:
    computed.append((who, key))
    return f"value-{key * key}"


def lookup_in_thread(key: int) -> str:
    with cache.read() as guard:  # the fast path: shared with every other reader
        if key in guard.value:
            return guard.value[key]
    with cache.upgradable_read() as guard:
        if key in guard.value:  # filled meanwhile
            return guard.value[key]
        with guard.upgrade() as writer:  # waits for the readers (threads and tasks) to leave
            writer.value[key] = value = compute("thread", key)
            return value


async def lookup_in_task(key: int) -> str:
    async with cache.read_async() as guard:
        if key in guard.value:
            return guard.value[key]
    async with cache.upgradable_read_async() as guard:
        if key in guard.value:
            return guard.value[key]
        async with guard.upgrade_async() as writer:
            writer.value[key] = value = compute("task", key)
            return value


go = threading.Event()  # so that threads and tasks start together


def thread_worker(results: list[str]) -> None:
    go.wait()
    results.extend(lookup_in_thread(KEYS - 1 - n % KEYS) for n in range(300))


async def task_worker(results: list[str]) -> None:
    go.set()
    for n in range(300):
        results.append(await lookup_in_task((n * 7) % KEYS))
        await asyncio.sleep(0)  # let the loop's other tasks in


async def main() -> None:
    thread_results: list[str] = []
    task_results: list[str] = []
    threads = [threading.Thread(target=thread_worker, args=(thread_results,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    await asyncio.gather(*(task_worker(task_results) for _ in range(4)))
    for thread in threads:
        await asyncio.to_thread(thread.join)  # join without blocking the loop

    expected = {f"value-{key * key}" for key in range(KEYS)}
    assert set(thread_results) == set(task_results) == expected
    keys = sorted(key for _, key in computed)
    assert keys == list(range(KEYS)), f"a value was computed twice: {computed}"
    by_thread = sum(1 for who, _ in computed if who == "thread")
    print(f"{len(thread_results)} lookups by 4 threads, {len(task_results)} by 4 tasks, one RwLock")
    print(f"{len(computed)} computations for {KEYS} keys ({by_thread} by threads, "
          f"{len(computed) - by_thread} by tasks): each value computed once")


if __name__ == "__main__":
    asyncio.run(main())
