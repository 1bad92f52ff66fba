"""Podman containers with pipelining: the local stack's and the stack test's connection.

containers.podman.podman runs `podman exec` without `-i`, so a module cannot arrive on
standard input and the collection turns pipelining off (has_pipelining = False). Every
module then costs two `podman exec` calls (make a temporary folder, then run the copied
module) instead of one, and `podman exec` is the slow part of a task (~0.1 s on a quiet
2-core machine, seconds on a busy one). This connection is that plugin with one change:
`-i` when there is input, so Ansible's pipelining (ansible.cfg, [connection] pipelining)
sends each module through one exec. Files (template, copy) still go through the
container's mounted filesystem, as in the collection's plugin.
"""

from __future__ import annotations

import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.containers.podman.plugins.connection.podman import (
    Connection as PodmanConnection,
)

from ansible.plugins.connection import ConnectionBase, ensure_connect

DOCUMENTATION = """
    name: natter_podman
    short_description: Run tasks in an existing Podman container, with pipelining
    description:
      - containers.podman.podman with C(podman exec -i) when a command has input, so
        Ansible's pipelining works.
    extends_documentation_fragment:
      - connection_pipelining
    options:
      remote_addr:
        description: The container's name or ID.
        default: inventory_hostname
        vars:
          - name: ansible_host
          - name: inventory_hostname
          - name: ansible_podman_host
      remote_user:
        description: User (name or UID) the commands run as inside the container.
        ini:
          - section: defaults
            key: remote_user
        env:
          - name: ANSIBLE_REMOTE_USER
        vars:
          - name: ansible_user
      podman_extra_args:
        description: Extra arguments for the podman command line.
        default: ''
        ini:
          - section: defaults
            key: podman_extra_args
        vars:
          - name: ansible_podman_extra_args
        env:
          - name: ANSIBLE_PODMAN_EXTRA_ARGS
      podman_executable:
        description: The podman executable.
        default: podman
        vars:
          - name: ansible_podman_executable
        env:
          - name: ANSIBLE_PODMAN_EXECUTABLE
"""


class Connection(PodmanConnection):
    transport = "natter_podman"
    has_pipelining = True

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        """`podman exec` in the container, with its standard input open when there is input."""
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        args = ["exec"]
        if in_data is not None:
            args.append("--interactive")
        if self.user:
            args.extend(("--user", self.user))
        command = shlex.split(to_native(cmd, errors="surrogate_or_strict"))
        return self._podman(args, command, in_data)
