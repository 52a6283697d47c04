"""A bounded producer/consumer queue on Mutex + Condvar.

Two condition variables share one Mutex: consumers wait on "not empty",
producers on "not full".  notify_one moves a waiter onto the mutex's queue
instead of waking it into a fight for the lock.
"""

import threading
from collections import deque

from parking_lot import Condvar, Mutex


class BoundedQueue:
    def __init__(self, capacity: int) -> None:
        self._items: Mutex[deque[int]] = Mutex(deque())
        self._capacity = capacity
        self._not_empty, self._not_full = Condvar(), Condvar()

    def put(self, item: int) -> None:
        with self._items.lock() as guard:
            self._not_full.wait_while(guard, lambda items: len(items) >= self._capacity)
            guard.value.append(item)
            self._not_empty.notify_one()

    def get(self) -> int:
        with self._items.lock() as guard:
            self._not_empty.wait_while(guard, lambda items: not items)
            item = guard.value.popleft()
            self._not_full.notify_one()
            return item


queue = BoundedQueue(capacity=4)
totals = []


def consumer() -> None:
    total = 0
    while (item := queue.get()) >= 0:
        total += item
    totals.append(total)


consumers = [threading.Thread(target=consumer) for _ in range(3)]
for thread in consumers:
    thread.start()
for item in range(1, 1001):
    queue.put(item)
for _ in consumers:
    queue.put(-1)  # one stop signal per consumer
for thread in consumers:
    thread.join(10)
print(f"3 consumers took {sum(totals)} in all (expected {sum(range(1, 1001))}), split {sorted(totals)}")
assert sum(totals) == 500500
