"""Static files under content-hash URLs: static_url("css/app.css") -> /static/css/app.css?v=<hash>.

The query changes whenever the file's bytes change, so Nginx may tell browsers to keep a
versioned URL forever (Cache-Control: immutable); unversioned URLs are revalidated. The
modules a page's entry script imports are unversioned: they revalidate (a 304 each).
"""

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, url_for

# Hex digits of the SHA-256 kept in the URL: 48 bits, no collision between releases.
HASH_LENGTH = 12


@lru_cache(maxsize=256)
def _digest(path: str, modified_ns: int, size: int) -> str:
    """The content hash; cached per (path, mtime, size) so each file is read once."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:HASH_LENGTH]


def static_url(filename: str) -> str:
    path = Path(current_app.static_folder) / filename
    stat = path.stat()
    digest = _digest(str(path), stat.st_mtime_ns, stat.st_size)
    return url_for("static", filename=filename, v=digest)


def init_app(app: Flask) -> None:
    app.add_template_global(static_url)
