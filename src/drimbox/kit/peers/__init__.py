"""Real third-party DICOM peers for tests and benchmarks: dcmtk ``dcmqrscp`` and Orthanc.

Both runners are context managers that own a temporary working folder, start the binary on
loopback ports, load files and stop the process by its PID. They do not isolate the network:
``dcmqrscp`` and Orthanc listen on every interface of the current network namespace, so callers
run inside a private namespace (:func:`~drimbox.kit.peers.netns.ensure_private_netns`, or
``scripts/run-tests.sh``).
"""

from __future__ import annotations

from .common import PeerError, PeerUnavailable
from .dcmqrscp import Dcmqrscp
from .orthanc import Orthanc

__all__ = ["Dcmqrscp", "Orthanc", "PeerError", "PeerUnavailable"]
