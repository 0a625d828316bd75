"""tether.Device from asyncio (tests/python_package.rs runs it from an installed
wheel): ``async with``, ``await device.publish(...)`` and the status iterator.

    python3 tests/python/async_device.py HOST:PORT
"""

from __future__ import annotations

import asyncio
import sys

import tether


async def main(hub: str) -> int:
    seen: list[str] = []
    async with tether.Device({"hub": hub, "device-id": "py-async"}) as device:
        async def watch() -> None:
            async for change in device.statuses():
                seen.append(f"{change.status}/{change.reason}")

        watcher = asyncio.create_task(watch())
        while device.status.status is not tether.Status.CONNECTED:
            await asyncio.sleep(0.01)
        outcomes = await asyncio.gather(*(device.publish(f"{n}") for n in range(5)))
    await asyncio.wait_for(watcher, 10)  # the iterator ends when the device stops
    delivered = sum(o.delivered for o in outcomes)
    print(f"delivered {delivered} of {len(outcomes)}")
    print("statuses " + " ".join(s for s in seen if not s.endswith("client-close")))
    return 0 if delivered == len(outcomes) else 1


sys.exit(asyncio.run(main(sys.argv[1])))
