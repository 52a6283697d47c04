"""Fair versus unfair unlocking, with numbers.

Four threads hammer one lock for half a second each way.  A plain unlock lets
the thread that just released the lock take it straight back (fast, uneven);
unlock_fair hands it to the longest waiter (even, slower: every hand-over is a
thread switch).  parking_lot's Mutex sits between: unfair, but the parking lot
forces a fair hand-over about once a millisecond so no thread starves.
"""

import threading
import time

from parking_lot import FairMutex, Mutex


def contend(mutex: Mutex[None], seconds: float = 0.5, threads: int = 4) -> list[int]:
    counts = [0] * threads
    stop = threading.Event()

    def work(index: int) -> None:
        while not stop.is_set():
            with mutex.lock():
                counts[index] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join(10)
    return counts


for name, mutex in (("Mutex", Mutex(None)), ("FairMutex", FairMutex(None))):
    counts = contend(mutex)
    print(f"{name:<10} total {sum(counts):>9,}  per thread {counts}  max/min {max(counts) / max(1, min(counts)):.2f}")
    assert min(counts) > 0, "no thread may starve"
