"""Live delivery: sender → receiver latency with N idle event streams connected.

The sender posts a message through Nginx; the receiver's event stream (through the
same Nginx, Gunicorn gevent workers, one Redis pub/sub listener per worker) yields it.
Latency = from just before the POST to the event's arrival. Idle streams belong to
other users (a pool of IDLE_USERS) and only get keep-alives. The baseline is the same
measurement in the same run with no idle stream.
"""

import asyncio
import time

from tests.benchmarks.report import BenchmarkError, Row, median, percentile
from tests.benchmarks.sse import EventStream
from tests.benchmarks.web_stack import WebStack, cookie_header

IDLE_USERS = 20
# Streams opened at once; each costs a TLS handshake.
OPENING_CONCURRENCY = 50
ARRIVAL_TIMEOUT_SECONDS = 10


async def latencies(stack: WebStack, sender, receiver, conversation_id: int, count: int):
    stream = await EventStream.open(stack.port, cookie_header(receiver), stack.ca_file)
    arrivals: asyncio.Queue = asyncio.Queue()

    async def receive():
        async for event, data in stream.events():
            if event == "message":
                arrivals.put_nowait((time.perf_counter(), data["content"]))

    receiving = asyncio.create_task(receive())
    measured = []
    try:
        for index in range(-1, count):  # message -1 warms up the worker's Redis listener
            content = f"live {index}"
            started = time.perf_counter()
            answer = await asyncio.to_thread(
                sender.post, "/api/chat/messages", conversation_id=conversation_id, content=content
            )
            if answer.status_code != 201:
                raise BenchmarkError(f"sending answered {answer.status_code}: {answer.text}")
            arrived_at, received = await asyncio.wait_for(arrivals.get(), ARRIVAL_TIMEOUT_SECONDS)
            if received != content:
                raise BenchmarkError(f"expected {content!r}, the stream gave {received!r}")
            if index >= 0:
                measured.append(arrived_at - started)
            await asyncio.sleep(0.05)
    finally:
        receiving.cancel()
        stream.close()
    return measured


async def open_idle(stack: WebStack, cookies: list[str], count: int) -> list[EventStream]:
    gate = asyncio.Semaphore(OPENING_CONCURRENCY)

    async def one(index: int) -> EventStream:
        async with gate:
            return await EventStream.open(stack.port, cookies[index % len(cookies)], stack.ca_file)

    return await asyncio.gather(*(one(index) for index in range(count)))


async def measure_all(stack: WebStack, idle_counts: list[int], messages: int) -> dict:
    sender, receiver = stack.user("sender"), stack.user("receiver")
    conversation_id = sender.post("/api/chat/conversations", participants=["receiver"]).json()["id"]
    idle_cookies = [cookie_header(stack.user(f"idle-{index}")) for index in range(IDLE_USERS)]
    idle, drains, results = [], [], {}
    try:
        for count in [0, *idle_counts]:
            opened = await open_idle(stack, idle_cookies, count - len(idle))
            idle += opened
            drains += [asyncio.create_task(stream.drain()) for stream in opened]
            memory = stack.app_memory_mib()
            results[count] = (
                await latencies(stack, sender, receiver, conversation_id, messages),
                memory,
            )
    finally:
        for task in drains:
            task.cancel()
        for stream in idle:
            stream.close()
    return results


def spread(seconds: list[float], memory_mib: float) -> str:
    p50, p95 = median(seconds) * 1000, percentile(seconds, 0.95) * 1000
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms; app workers {memory_mib:.0f} MiB RSS"


def run(stack: WebStack, idle_counts: list[int], messages: int) -> list[Row]:
    results = asyncio.run(measure_all(stack, idle_counts, messages))
    return [
        Row(
            f"live delivery, {count} idle streams, {messages} messages",
            spread(*results[count]),
            f"no idle stream: {spread(*results[0])}",
            median(results[count][0]) / median(results[0][0]),
        )
        for count in idle_counts
    ]
