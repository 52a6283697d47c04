"""Address-keyed waiting, futex style: sleep until the value at a key changes.

The parking lot is a futex for Python objects: park on a key (here the id of a
small cell) while its value is what you expect; whoever changes the value
unparks everyone on that key.  validate() runs under the queue's lock, so a
change between the check and the sleep is never missed.
"""

import threading

from parking_lot.core import park, parked_count, unpark_all


class Cell:
    """A value other threads can wait on, with futex semantics."""

    def __init__(self, value: int) -> None:
        self.value = value

    def wait_while_equal(self, expected: int, timeout: float = 10.0) -> int:
        while self.value == expected:
            park(id(self), validate=lambda: self.value == expected, timeout=timeout)
        return self.value

    def store(self, value: int) -> int:
        self.value = value
        return unpark_all(id(self))


cell = Cell(0)
seen = []
waiters = [threading.Thread(target=lambda: seen.append(cell.wait_while_equal(0))) for _ in range(3)]
for thread in waiters:
    thread.start()
while parked_count(id(cell)) < 3:  # wait until all three really sleep
    pass
print(f"3 threads parked on the cell's key; storing 42 wakes {cell.store(42)} of them")
for thread in waiters:
    thread.join(10)
print(f"each saw the new value: {seen}")
assert seen == [42, 42, 42]
