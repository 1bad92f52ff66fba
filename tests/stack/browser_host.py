"""A person's computer on a test's own Podman network: Chromium in a container's network.

The container holds only the network (addresses, routes, no published ports); the browser
is this machine's Debian Chromium, started by Playwright through a wrapper that enters the
container's network namespace. Every address it reaches is one of the test network's, as a
person on another machine reaches the server: never the host's loopback or a bridge
address seen from the host.
"""

import os
import stat
from contextlib import contextmanager
from pathlib import Path

from tests.browser.chromium import CHROMIUM
from tests.stack.conftest import IMAGE, podman


@contextmanager
def browser_host(name: str, network: str, workdir: Path):
    """Yields the path of a Chromium executable whose network is container `name`'s."""
    if os.geteuid() != 0:
        raise RuntimeError("entering a container's network namespace needs root")
    podman("rm", "-f", "-t", "0", name, check=False)
    podman("run", "-d", "--name", name, "--network", network, IMAGE, "sleep", "infinity")
    try:
        pid = podman("inspect", "-f", "{{.State.Pid}}", name).stdout.strip()
        wrapper = workdir / "chromium-on-the-test-network"
        # Playwright talks to the browser over inherited pipes, which nsenter passes on.
        wrapper.write_text(f'#!/bin/sh\nexec nsenter --net=/proc/{pid}/ns/net -- {CHROMIUM} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        yield wrapper
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)
