"""A small Server-Sent Events client on asyncio, so one process can hold hundreds of streams."""

import asyncio
import json
import ssl
from pathlib import Path

from tests.benchmarks.report import BenchmarkError


class EventStream:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, cookie: str, ca_file: Path) -> "EventStream":
        """GET /api/chat/events over HTTPS (HTTP/1.1); returns once the answer's headers arrived."""
        context = ssl.create_default_context(cafile=str(ca_file))
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname="localhost"
        )
        writer.write(
            f"GET /api/chat/events HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        status = await reader.readline()
        headers = []
        while (line := await reader.readline()) not in (b"\r\n", b""):
            headers.append(line.decode().lower())
        if b" 200 " not in status or "transfer-encoding: chunked\r\n" not in headers:
            writer.close()
            raise BenchmarkError(f"event stream refused: {status!r} {headers}")
        return cls(reader, writer)

    async def events(self):
        """Yields (event, data) until the server ends the stream."""
        pending = b""
        while True:
            size = int((await self.reader.readline()).strip() or b"0", 16)
            if size == 0:
                return
            pending += (await self.reader.readexactly(size + 2))[:-2]
            while b"\n\n" in pending:
                block, pending = pending.split(b"\n\n", 1)
                fields = dict(
                    line.split(": ", 1) for line in block.decode().split("\n") if ": " in line
                )
                if "data" in fields:
                    yield fields.get("event", "message"), json.loads(fields["data"])

    async def drain(self) -> None:
        async for _ in self.events():
            pass

    def close(self) -> None:
        self.writer.close()
