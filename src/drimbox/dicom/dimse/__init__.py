"""DICOM networking: C-ECHO/C-FIND/C-MOVE/C-GET/C-STORE SCU and the C-STORE SCP receiver.

Typical use::

    receiver = StoreReceiver(settings.dimse); receiver.start()
    client = DimseClient(settings.dimse, receiver)
    tree = await client.find_study_tree(node, study_uid)
    async for instance in client.retrieve_series(node, study_uid, series_uid, expected):
        ...  # instance.data: Part-10 bytes as received

Failures raise :class:`~drimbox.errors.PacsUnavailable`, :class:`~drimbox.errors.PacsTimeout`
or :class:`~drimbox.errors.PacsFailure` (with the DIMSE status), never an empty result.
"""

from .client import DimseClient
from .models import (
    InstanceMatch,
    ReceivedInstance,
    SeriesMatch,
    SeriesTree,
    StoreOutcome,
    StudyMatch,
    StudyTree,
)
from .receiver import StoreReceiver
from .retrieve import RetrieveIncomplete

__all__ = [
    "DimseClient",
    "InstanceMatch",
    "ReceivedInstance",
    "RetrieveIncomplete",
    "SeriesMatch",
    "SeriesTree",
    "StoreOutcome",
    "StoreReceiver",
    "StudyMatch",
    "StudyTree",
]
