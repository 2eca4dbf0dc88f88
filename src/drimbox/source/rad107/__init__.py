"""RAD-107 (WADO-RS retrieve) of the DRIMbox Source: checks, negotiation, streaming, warm cache.

Wiring (one service per process, see docs/rad107.md)::

    service = Rad107Service.create(settings, database, DimseClient(settings.dimse, receiver))
    mount(app, service)                      # routes under each PACS public base path
    await prefetch(service, kos_record)      # after a KOS is archived, when the cache is on
    await service.aclose()                   # at shutdown
"""

from .errors import (
    ImagesDeleted,
    InstanceNotInKos,
    KosHeaderMissing,
    KosOtherStudy,
    KosUnknown,
    KosWithdrawn,
    NoAcceptableSyntax,
    PatientMismatch,
    SeriesNotInKos,
)
from .prefetch import PrefetchReport, prefetch
from .router import mount, rad107_router
from .service import Rad107Service

__all__ = [
    "ImagesDeleted",
    "InstanceNotInKos",
    "KosHeaderMissing",
    "KosOtherStudy",
    "KosUnknown",
    "KosWithdrawn",
    "NoAcceptableSyntax",
    "PatientMismatch",
    "PrefetchReport",
    "Rad107Service",
    "SeriesNotInKos",
    "mount",
    "prefetch",
    "rad107_router",
]
