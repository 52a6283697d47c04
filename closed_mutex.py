# a task of a loop that gets closed (no asyncio.run shutdown) is parked on a Mutex; a thread then unlocks
import asyncio, gc, sys, threading
import parking_lot
from parking_lot.core import parked_count
m = parking_lot.Mutex(0)
g = m.lock()
loop = asyncio.new_event_loop()
async def w():
    async with m.lock_async(): pass
t = loop.create_task(w())
loop.run_until_complete(asyncio.sleep(0.01))
loop.close(); del t; gc.collect()
th = threading.Thread(target=g.unlock); th.start(); th.join(5)
gc.collect()
print(sys.version.split()[0], 'after unlock: locked', m.is_locked(), 'try_lock_for(0.2):', m.try_lock_for(0.2), 'parked', parked_count(m.raw._key) if hasattr(m.raw, '_key') else '?')
