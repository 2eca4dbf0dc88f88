"""dcmtk ``dcmqrscp`` as a real C++ PACS: C-ECHO, C-FIND, C-MOVE, C-GET, C-STORE.

``dcmqrscp`` has no bind-address option: it listens on every interface of the current network
namespace (run it inside a private one). It forks one child per association; stopping it ends
its whole process group, which this runner created.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from .common import (
    PeerError,
    PeerProcess,
    port_open,
    require_binary,
    stop_process,
    tool_env,
    wait_until,
)

MAX_PDU = 131072  # the largest PDU dcmtk accepts
# dcmtk's option letters (after "+x" incoming / "-x" outgoing) per compressed syntax.
_DCMTK_SYNTAX_FLAGS = {
    "1.2.840.10008.1.2.4.50": "y",
    "1.2.840.10008.1.2.4.51": "x",
    "1.2.840.10008.1.2.4.57": "s",
    "1.2.840.10008.1.2.4.70": "s",
    "1.2.840.10008.1.2.4.80": "t",
    "1.2.840.10008.1.2.4.81": "u",
    "1.2.840.10008.1.2.4.90": "v",
    "1.2.840.10008.1.2.4.91": "w",
    "1.2.840.10008.1.2.5": "r",
}
_UNCOMPRESSED = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"}


def _syntax_flag(syntax: str | None) -> str | None:
    if syntax is None or syntax in _UNCOMPRESSED:
        return None
    letter = _DCMTK_SYNTAX_FLAGS.get(syntax)
    if letter is None:
        raise PeerError(f"dcmqrscp cannot be told to keep transfer syntax {syntax}")
    return "x" + letter


class Dcmqrscp(PeerProcess):
    """One ``dcmqrscp`` process with one AE title and its own storage area.

    ``destinations`` maps C-MOVE destination AE titles to (host, port). dcmtk accepts, stores
    and sends uncompressed syntaxes only unless told; ``syntax`` names the one compressed
    transfer syntax (e.g. JPEG-LS lossless) that ``load`` sends, dcmqrscp accepts and its C-MOVE
    sub-operations propose, so files travel as stored.
    """

    name = "dcmqrscp"

    def __init__(
        self,
        *,
        ae_title: str = "DCMQR",
        port: int = 0,
        destinations: Mapping[str, tuple[str, int]] | None = None,
        workdir: Path | None = None,
        syntax: str | None = None,
    ) -> None:
        self.binary = require_binary("dcmqrscp", "dcmtk")
        super().__init__(ae_title, port, workdir)
        self.destinations = dict(destinations or {})
        self.flag = _syntax_flag(syntax)
        self.storage = self.workdir / "storage"
        self.config_path = self.workdir / "dcmqrscp.cfg"

    def write_config(self) -> Path:
        """The dcmqrscp.cfg: our port, PDU size, known move destinations and one storage AE."""
        self.storage.mkdir(parents=True, exist_ok=True)
        hosts = [
            f"dest{index} = ({ae}, {host}, {port})"
            for index, (ae, (host, port)) in enumerate(sorted(self.destinations.items()))
        ]
        lines = [
            f"NetworkTCPPort  = {self.dicom_port}",
            f"MaxPDUSize      = {MAX_PDU}",
            "MaxAssociations = 64",
            "HostTable BEGIN",
            *hosts,
            "HostTable END",
            "VendorTable BEGIN",
            "VendorTable END",
            "AETable BEGIN",
            f"{self.ae_title} {self.storage} RW (500, 1024mb) ANY",
            "AETable END",
        ]
        self.config_path.write_text("\n".join(lines) + "\n", encoding="ascii")
        return self.config_path

    def start(self) -> None:
        if self._process is not None:
            return
        if port_open(self.dicom_port):
            raise PeerError(f"dcmqrscp: port {self.dicom_port} is already in use on 127.0.0.1")
        self.write_config()
        command = [self.binary, "-c", str(self.config_path), "-pdu", str(MAX_PDU)]
        if self.flag:  # +x…: accept/prefer on incoming associations; -x…: propose on outgoing
            command += ["+" + self.flag, "-" + self.flag]
        command.append(str(self.dicom_port))
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=tool_env(),
                start_new_session=True,  # its forked children share our new group
            )
        try:
            wait_until(lambda: port_open(self.dicom_port), self._process, "dcmqrscp", 20)
        except PeerError as exc:
            self.stop()
            raise PeerError(f"{exc}; log: {self.log_tail()}") from None

    def load(self, paths: Iterable[Path], *, calling_ae: str = "LOADER") -> int:
        """C-STORE the files with dcmtk ``storescu`` (one association); returns the count."""
        files = [str(p) for p in paths]
        if not files:
            return 0
        storescu = require_binary("storescu", "dcmtk")
        command = [storescu, "-aet", calling_ae, "-aec", self.ae_title, "-pdu", str(MAX_PDU)]
        if self.flag:
            command.append("-" + self.flag)
        done = subprocess.run(
            [*command, "127.0.0.1", str(self.dicom_port), *files],
            capture_output=True,
            text=True,
            env=tool_env(),
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise PeerError(f"storescu to dcmqrscp failed: {done.stderr.strip()[-1000:]}")
        return len(files)

    @property
    def port(self) -> int:
        """The DICOM port (dcmqrscp has no other)."""
        return self.dicom_port

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        stop_process(process)
        with contextlib.suppress(ProcessLookupError):  # children serving an association
            os.killpg(process.pid, signal.SIGTERM)  # our own new group, created by us
