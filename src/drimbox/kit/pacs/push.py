"""``push``: send archived instances to another DICOM node with C-STORE (SCU)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pynetdicom.ae import ApplicationEntity
from pynetdicom.association import Association

from drimbox.errors import PacsUnavailable
from drimbox.kit.pacs.sending import (
    StoredInstance,
    StoreSender,
    can_send,
    load_for_send,
    storage_contexts,
)

STORE_SUCCESS = 0x0000


@dataclass
class PushReport:
    sent: int = 0
    warnings: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (SOP Instance UID, reason)


def parse_target(target: str) -> tuple[str, str, int]:
    """``AE@host:port`` → (AE title, host, port); ValueError otherwise."""
    ae_title, at, address = target.partition("@")
    host, _, port = address.rpartition(":")
    if not at or not ae_title or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected AE@host:port, got {target!r}")
    return ae_title, host, int(port)


def push(
    instances: Sequence[StoredInstance],
    *,
    calling_ae: str,
    called_ae: str,
    host: str,
    port: int,
    on_progress: Callable[[], None] | None = None,
    timeout: float = 30.0,
) -> PushReport:
    """Send ``instances`` over one association; raises PacsUnavailable if it is refused."""
    report = PushReport()
    if not instances:
        return report
    ae = ApplicationEntity(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    assoc = ae.associate(
        host, port, contexts=storage_contexts(instances), ae_title=called_ae, max_pdu=0
    )
    if not assoc.is_established:
        raise PacsUnavailable(f"association refused or failed ({host}:{port})", pacs=called_ae)
    try:
        for item in instances:
            reason = _send_one(assoc, item)
            if reason is None:
                report.sent += 1
            elif reason.startswith("warning"):
                report.sent += 1
                report.warnings += 1
            else:
                report.failed.append((item.sop_instance_uid, reason))
            if on_progress is not None:
                on_progress()
    finally:
        assoc.release()
    return report


def _send_one(assoc: Association, item: StoredInstance) -> str | None:
    if not can_send(assoc, item.sop_class_uid, item.transfer_syntax_uid):
        return f"peer accepted no context for this SOP class in {item.transfer_syntax_uid}"
    try:
        status = StoreSender(assoc)(load_for_send(item))
    except Exception as exc:  # unreadable file, encoding failure: this instance fails, not the push
        return str(exc) or type(exc).__name__
    code = int(getattr(status, "Status", -1)) if status else -1
    if code == STORE_SUCCESS:
        return None
    if code in (0x0001, 0xB000, 0xB006, 0xB007):
        return f"warning 0x{code:04X}"
    if code == -1:
        return "no response (association aborted or timed out)"
    return f"failure status 0x{code:04X}"
