"""The MLLP handler of the Source: parse, commit to the inbox, then acknowledge.

``AA`` is sent only once the message is committed (a crash after that loses nothing; a crash
before it leaves the sender without ACK, so it resends). A message that cannot be accepted —
malformed, unsupported type or event, missing mandatory field, undecodable CDA — gets ``AE`` or
``AR`` with an ERR segment saying why, and is *not* stored: the sender must correct and resend
it, and the reason is logged for the administrator. A re-sent message (same sender and MSH-10)
is acknowledged ``AA`` again without being stored twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from drimbox.config import MllpSettings
from drimbox.hl7.ack import AckCode, build_ack
from drimbox.hl7.message import ErrorCode, Hl7ParseError
from drimbox.hl7.report import ImagingReportMessage, parse_report_message
from drimbox.source.inbox import Inbox, InboxError, MessageMeta

log = logging.getLogger(__name__)


def message_meta(message: ImagingReportMessage) -> MessageMeta:
    return MessageMeta(
        control_id=message.control_id,
        sending_application=message.sending_application,
        sending_facility=message.sending_facility,
        message_type=f"{message.message_type}^{message.trigger_event}",
        version=message.version,
    )


class Intake:
    """``handle(raw) -> ack``: the handler given to :class:`~drimbox.hl7.server.MllpServer`."""

    def __init__(
        self,
        inbox: Inbox,
        settings: MllpSettings,
        on_stored: Callable[[], None] = lambda: None,
    ) -> None:
        self.inbox = inbox
        self.settings = settings
        self.on_stored = on_stored

    def _ack(self, raw: bytes, code: AckCode, error: Hl7ParseError | None = None) -> bytes:
        return build_ack(
            raw,
            code,
            error=error,
            sending_application=self.settings.receiving_application,
            sending_facility=self.settings.receiving_facility,
        )

    async def handle(self, raw: bytes) -> bytes:
        try:
            message = parse_report_message(raw)
        except Hl7ParseError as refused:
            log.warning("HL7 message refused (%s): %s", refused.ack_code, refused)
            return self._ack(raw, AckCode(refused.ack_code), refused)
        try:
            stored = await self.inbox.store(raw, message_meta(message))
        except InboxError as exc:  # e.g. empty or over-long MSH-10: resending will not help
            bad_id = Hl7ParseError(ErrorCode.DATA_TYPE_ERROR, str(exc), segment="MSH", field=10)
            log.warning("HL7 message refused: %s", bad_id)
            return self._ack(raw, AckCode.ERROR, bad_id)
        if stored.duplicate:
            log.info(
                "HL7 %s from %s already received as #%d; acknowledged again",
                message.control_id,
                message.sending_application,
                stored.id,
            )
        else:
            log.info(
                "HL7 %s^%s %s stored as #%d (%s)",
                message.message_type,
                message.trigger_event,
                message.control_id,
                stored.id,
                message.event.value,
            )
            self.on_stored()
        return self._ack(raw, AckCode.ACCEPT)
