"""A drop-in swap in an existing asyncio program, plus a thread on the same Lock.

The program below was written for asyncio: a producer and consumers share a buffer
guarded by a Condition, a Semaphore caps the work in flight, an Event says "done".
The only change to run it on the parking lot is its import line:

    from asyncio import locks            # before
    from parking_lot import aio as locks  # after

What it gains: notify_all moves the waiting consumers onto the lock's queue instead
of waking them all to fight for it, and the same objects work from threads -- here a
plain thread (a logger, say) takes the very Lock the tasks use, through its thread
face ``acquire_blocking(timeout)`` / ``release()``.
"""

import asyncio
import threading

from parking_lot import aio as locks  # was: from asyncio import locks


async def main() -> None:
    lock = locks.Lock()
    not_empty = locks.Condition(lock)
    in_flight = locks.Semaphore(2)
    done = locks.Event()
    buffer: list[int] = []
    consumed: list[int] = []
    log: list[str] = []

    async def producer() -> None:
        for item in range(1, 101):
            async with not_empty:
                buffer.append(item)
                not_empty.notify()
        async with not_empty:
            done.set()
            not_empty.notify_all()

    async def consumer() -> None:
        while True:
            async with not_empty:
                await not_empty.wait_for(lambda: buffer or done.is_set())
                if not buffer:
                    return
                item = buffer.pop(0)
            async with in_flight:
                await asyncio.sleep(0)
                consumed.append(item)

    def thread_logger() -> None:
        # A thread, not a task: it blocks on the same Lock the tasks use (with a timeout).
        while True:
            if lock.acquire_blocking(timeout=5):
                try:
                    log.append(f"buffer holds {len(buffer)}")
                finally:
                    lock.release()
            if done.wait_blocking(timeout=0.001):
                return

    logger = threading.Thread(target=thread_logger)
    logger.start()
    await asyncio.gather(producer(), *(consumer() for _ in range(4)))
    await asyncio.get_running_loop().run_in_executor(None, logger.join)
    print(f"consumed {len(consumed)} items, sum {sum(consumed)}")
    print(f"the thread took the tasks' lock {len(log)} time(s); first: {log[0]}")
    assert sorted(consumed) == list(range(1, 101)) and log


if __name__ == "__main__":
    asyncio.run(main())
