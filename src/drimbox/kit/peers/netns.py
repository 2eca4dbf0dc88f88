"""Run the current process in a private network namespace that only has loopback.

Orthanc and dcmqrscp cannot bind to one address. A benchmark that starts them calls
:func:`ensure_private_netns` first: when root, the process re-executes itself under
``unshare --net --fork`` with ``lo`` up, so every server it then starts is unreachable from
outside and can reach nothing but 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys

MARKER = "DRIMBOX_PRIVATE_NETNS"


def only_loopback() -> bool:
    """True when the current namespace has no interface but ``lo``."""
    return {name for _index, name in socket.if_nameindex()} <= {"lo"}


def ensure_private_netns(argv: list[str] | None = None) -> bool:
    """Re-exec ``python argv…`` inside a fresh loopback-only namespace; True once inside.

    Returns False (and does not re-exec) when not root or ``unshare`` is missing: the caller
    decides whether to go on without isolation. Never returns in the parent when it re-execs.
    """
    if only_loopback():
        return True
    if os.environ.get(MARKER) == "1":  # we re-executed but still see other interfaces
        raise RuntimeError("unshare --net did not give a loopback-only namespace")
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None or shutil.which("ip") is None:
        return False
    args = [sys.executable, *(sys.argv if argv is None else argv)]
    script = 'ip link set lo up && exec "$@"'
    os.environ[MARKER] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(unshare, [unshare, "--net", "--fork", "--", "sh", "-c", script, "_", *args])
