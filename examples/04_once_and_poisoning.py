"""Lazy one-time initialisation with Once, and what poisoning looks like.

call_once runs the function exactly once however many threads race.  If it
raises, the Once is *poisoned*: later call_once raise PoisonError, and
call_once_force may recover (its function receives the state).
"""

import threading

from parking_lot import Once, OnceState, PoisonError

config: dict[str, str] = {}
once = Once()
runs = []


def load() -> None:
    runs.append(threading.current_thread().name)
    config["db"] = "postgres://localhost/app"


threads = [threading.Thread(target=once.call_once, args=(load,), name=f"t{i}") for i in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(10)
print(f"8 threads called call_once; the function ran {len(runs)} time(s); state {once.state.name}")
assert len(runs) == 1 and once.state is OnceState.Done

broken = Once()


def failing() -> None:
    raise OSError("config server unreachable")


try:
    broken.call_once(failing)
except OSError as exc:
    print(f"first call raised: {exc!r}; state now {broken.state.name}")
try:
    broken.call_once(load)
except PoisonError as exc:
    print(f"later call_once: PoisonError({exc})")
broken.call_once_force(lambda state: print(f"call_once_force recovers (it was told the state: {state.name})"))
print(f"state after recovery: {broken.state.name}")
assert broken.is_completed()
