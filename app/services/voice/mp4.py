"""Reading an m4a's own index: is the file whole, and how long does it play?

Checking our own transcodes this way costs a few small reads instead of a second ffmpeg
run decoding the whole file. The boxes at the top of an MP4 file follow one another to
its very end; a file cut short (a disk that filled while ffmpeg wrote it) breaks that
chain or lacks its index (`moov`), and its playing time is in `moov/mvhd`.
"""

import struct
from pathlib import Path

HEADER = struct.Struct(">I4s")
LARGE_SIZE = struct.Struct(">Q")
# mvhd after its version byte and flags: timescale and duration, by version.
MVHD_TIMES = {0: struct.Struct(">8xII"), 1: struct.Struct(">16xIQ")}


class BrokenFile(ValueError):
    pass


def duration(path: Path) -> float:
    """Seconds the file plays, from its movie header; BrokenFile if it is not whole."""
    with path.open("rb") as file:
        size = file.seek(0, 2)
        boxes = dict(_boxes(file, 0, size))
        if "moov" not in boxes or "mdat" not in boxes:
            raise BrokenFile("no index (moov) or no audio (mdat)")
        start, end = boxes["moov"]
        inner = dict(_boxes(file, start, end))
        if "mvhd" not in inner:
            raise BrokenFile("the index has no movie header (mvhd)")
        start, end = inner["mvhd"]
        file.seek(start)
        header = file.read(min(end - start, 4 + MVHD_TIMES[1].size))
    version = header[0] if header else -1
    if version not in MVHD_TIMES or len(header) < 4 + MVHD_TIMES[version].size:
        raise BrokenFile("unreadable movie header")
    timescale, length = MVHD_TIMES[version].unpack_from(header, 4)
    if not timescale:
        raise BrokenFile("movie header without a timescale")
    return round(length / timescale, 2)


def _boxes(file, start: int, end: int):
    """(type, (content start, content end)) of each box from start to end, which they
    must fill exactly."""
    position = start
    while position < end:
        file.seek(position)
        header = file.read(HEADER.size)
        if len(header) < HEADER.size:
            raise BrokenFile(f"cut short at byte {position}")
        size, kind = HEADER.unpack(header)
        content = position + HEADER.size
        if size == 1:
            size = LARGE_SIZE.unpack(file.read(LARGE_SIZE.size).rjust(8, b"\0"))[0]
            content += LARGE_SIZE.size
        elif size == 0:
            size = end - position
        if size < content - position or position + size > end:
            raise BrokenFile(f"a box at byte {position} runs past the end")
        yield kind.decode("latin-1"), (content, position + size)
        position += size
