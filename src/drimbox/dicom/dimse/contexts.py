"""Presentation contexts for C-GET and C-STORE.

A C-GET SCP (the PACS) picks one transfer syntax per proposed context; to receive an instance
in its stored syntax we propose that syntax in a context of its own (PS3.7 D.3.3.2).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.uid import (
    JPEG2000,
    UID,
    BasicTextSRStorage,
    ComprehensiveSRStorage,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    DigitalMammographyXRayImageStorageForPresentation,
    DigitalXRayImageStorageForPresentation,
    EncapsulatedPDFStorage,
    EnhancedCTImageStorage,
    EnhancedMRImageStorage,
    EnhancedSRStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    GrayscaleSoftcopyPresentationStateStorage,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    KeyObjectSelectionDocumentStorage,
    MRImageStorage,
    NuclearMedicineImageStorage,
    PositronEmissionTomographyImageStorage,
    RLELossless,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    XRayAngiographicImageStorage,
    XRayRadiofluoroscopicImageStorage,
)
from pynetdicom.association import Association
from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation
from pynetdicom.presentation import PresentationContext, build_context, build_role

MAX_CONTEXTS = 128  # PS3.8 9.3.2.2: presentation context IDs are odd numbers 1..255

UNCOMPRESSED = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]
COMPRESSED = [
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEGLosslessSV1,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
    DeflatedExplicitVRLittleEndian,
    UID("1.2.840.10008.1.2.4.201"),  # HTJ2K lossless
    UID("1.2.840.10008.1.2.4.202"),  # HTJ2K lossless RPCL
    UID("1.2.840.10008.1.2.4.203"),  # HTJ2K
]

COMMON_STORAGE = [
    CTImageStorage,
    MRImageStorage,
    EnhancedCTImageStorage,
    EnhancedMRImageStorage,
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    DigitalMammographyXRayImageStorageForPresentation,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    SecondaryCaptureImageStorage,
    PositronEmissionTomographyImageStorage,
    NuclearMedicineImageStorage,
    XRayAngiographicImageStorage,
    XRayRadiofluoroscopicImageStorage,
    KeyObjectSelectionDocumentStorage,
    BasicTextSRStorage,
    EnhancedSRStorage,
    ComprehensiveSRStorage,
    EncapsulatedPDFStorage,
    GrayscaleSoftcopyPresentationStateStorage,
]


def get_storage_contexts(
    sop_classes: Iterable[str] | None, reserved: int = 1
) -> tuple[list[PresentationContext], list[SCP_SCU_RoleSelectionNegotiation]]:
    """Storage contexts (with SCP role selection) to receive C-GET sub-operations.

    Known SOP classes get one context per transfer syntax, so any stored syntax can be sent as
    is; otherwise the common classes get one uncompressed and one compressed context each.
    """
    budget = MAX_CONTEXTS - reserved
    contexts: list[PresentationContext] = []
    classes = sorted(set(sop_classes)) if sop_classes else list(COMMON_STORAGE)
    if sop_classes:
        groups = [UNCOMPRESSED, *([ts] for ts in COMPRESSED)]
    else:
        groups = [UNCOMPRESSED, COMPRESSED]
    for group in groups:
        for sop_class in classes:
            if len(contexts) < budget:
                contexts.append(build_context(sop_class, list(group)))
    roles = [build_role(uid, scp_role=True) for uid in classes]
    return contexts, roles


def store_contexts(pairs: Iterable[tuple[str, str]]) -> list[PresentationContext]:
    """One context per (SOP class, transfer syntax) we are about to send with C-STORE."""
    contexts = [build_context(sop, [ts]) for sop, ts in sorted(set(pairs))]
    if len(contexts) > MAX_CONTEXTS:
        raise ValueError(
            f"{len(contexts)} SOP class/transfer syntax pairs exceed {MAX_CONTEXTS} contexts"
        )
    return contexts


def prefer_requestor_syntaxes(assoc: Association, proposed: list[PresentationContext]) -> None:
    """Accept, in each context, the first proposed transfer syntax we support.

    pynetdicom otherwise picks by the acceptor's own order, which starts with Implicit VR:
    a PACS proposing [JPEG-LS, explicit, implicit] for a C-MOVE sub-operation would have to
    decompress (dcmqrscp cannot, and fails the sub-operation), and a C-GET SCU proposing
    [RLE, explicit, implicit] could never receive RLE-stored images. Call it from an
    EVT_REQUESTED handler, before pynetdicom negotiates the contexts.
    """
    # pynetdicom ranks per abstract syntax, not per context: merge the requestor's contexts for
    # one SOP class in proposal order, so that [uncompressed] + [JPEG-LS, JPEG, …] contexts each
    # get the first syntax the requestor named in it.
    order: dict[str, list[str]] = {}
    for cx in proposed:
        ranking = order.setdefault(str(cx.abstract_syntax), [])
        ranking.extend(str(ts) for ts in cx.transfer_syntax if str(ts) not in ranking)
    contexts = []
    for cx in assoc.acceptor.supported_contexts:
        wanted = order.get(str(cx.abstract_syntax))
        if wanted is None or cx.abstract_syntax is None:
            contexts.append(cx)
            continue
        ranked: list[str | UID] = sorted(
            cx.transfer_syntax, key=lambda ts: wanted.index(ts) if ts in wanted else len(wanted)
        )
        new = build_context(cx.abstract_syntax, ranked)
        new.scu_role, new.scp_role = cx.scu_role, cx.scp_role
        contexts.append(new)
    assoc.acceptor.supported_contexts = contexts
