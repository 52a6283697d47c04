"""A deliberate deadlock, the detector's report, and the way out.

Two threads take two mutexes in opposite orders.  The background detector
notices the cycle, prints each thread's name, the lock it waits for, the locks
it holds and its Python stack, and then breaks the cycle by raising
DeadlockError in one thread, whose `with` blocks then release what it held.
"""

import threading

from parking_lot import Mutex, deadlock

accounts, audit_log = Mutex({"alice": 100}), Mutex([])
both_hold_one = threading.Barrier(2)
outcomes = {}


def transfer() -> None:
    with accounts.lock():
        both_hold_one.wait()
        with audit_log.lock() as log:
            log.value.append("transfer")
    outcomes["transfer"] = "finished"


def audit() -> None:
    try:
        with audit_log.lock():
            both_hold_one.wait()
            with accounts.lock():
                pass
        outcomes["audit"] = "finished"
    except deadlock.DeadlockError as exc:
        outcomes["audit"] = f"gave up: {exc}"


reported: list[deadlock.Cycle] = []
detected = threading.Event()


def report(cycles: list[deadlock.Cycle]) -> None:
    for cycle in cycles:
        print(cycle)
    reported.extend(cycles)
    detected.set()


deadlock.start_detector(interval=0.05, on_deadlock=report)
threads = [threading.Thread(target=transfer, name="transfer"), threading.Thread(target=audit, name="audit")]
for thread in threads:
    thread.start()
assert detected.wait(10), "the detector should have seen the cycle"
deadlock.stop_detector()
audit_thread = next(t for t in threads if t.name == "audit")
print(f"breaking the cycle in thread 'audit': {deadlock.break_deadlock(reported[0], audit_thread.ident)}")
for thread in threads:
    thread.join(10)
print(outcomes)
assert outcomes["transfer"] == "finished" and outcomes["audit"].startswith("gave up")
