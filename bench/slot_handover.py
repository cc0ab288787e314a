"""Why `generate` runs one worker per request slot: a plain asyncio model of the runner.

Workers loop: take a request slot (a semaphore of `--slots`), wait `--delay` (the server),
free the slot, then spend some CPU on the answer (judging, the next prompt) and go again.
With more workers than slots, a freed slot goes to a waiting worker, which only runs on the
event loop's next round; while a round processes a burst of answers, the slots freed early
in it stay idle. With one worker per slot there is no hand-over. Prints requests/s as a share
of the bound slots ÷ delay for several CPU costs per answer.

Run: `.venv/bin/python bench/slot_handover.py [--slots 64] [--delay 0.2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import time


def busy(ms: float) -> None:
    """Hold the CPU (and the event loop) for `ms` milliseconds."""
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


async def share_of_bound(
    workers: int, slots: int, delay: float, work_ms: float, requests: int
) -> float:
    semaphore = asyncio.Semaphore(slots)
    done = 0
    first = 0.0

    async def worker() -> None:
        nonlocal done, first
        while done < requests:
            async with semaphore:
                first = first or time.perf_counter()
                await asyncio.sleep(delay)
                done += 1
            busy(work_ms)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return done / (time.perf_counter() - first) / (slots / delay)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slots", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--work-ms", default="0,0.5,1,2", help="CPU per answer, comma-separated")
    parser.add_argument("--requests-per-slot", type=int, default=60)
    args = parser.parse_args()
    requests = args.slots * args.requests_per_slot
    print(f"{args.slots} slots, {args.delay * 1000:.0f} ms per request, {requests} requests")
    print("| CPU per answer (ms) | 2 workers per slot | 1 worker per slot |")
    print("|---:|---:|---:|")
    for work_ms in (float(x) for x in args.work_ms.split(",")):
        shares = [
            asyncio.run(share_of_bound(n * args.slots, args.slots, args.delay, work_ms, requests))
            for n in (2, 1)
        ]
        print(f"| {work_ms:g} | {shares[0]:.0%} | {shares[1]:.0%} |")


if __name__ == "__main__":
    main()
