"""Find the exam of a report on the PACS and check it is the report's exam (issue §4).

Each configured PACS is asked by C-FIND (study level, by Study Instance UID) in configuration
order; the first that knows the study is used and its series and instances are listed. A PACS
that cannot be reached or times out makes the result unknown, never "absent": if no other PACS
has the study the message is retried later. The checks before a KOS is built: the PACS
accession number is one of the report's, and the PACS Patient ID is the report's IPP (or INS).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from drimbox.cda import Identifier
from drimbox.config import PacsNode
from drimbox.dicom.dimse import StudyMatch, StudyTree
from drimbox.errors import PacsError, PacsFailure, PacsTimeout, PacsUnavailable
from drimbox.source.workflow import errors as e
from drimbox.source.workflow.context import WorkflowContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LocatedStudy:
    node: PacsNode
    study: StudyMatch
    tree: StudyTree


def _retry_for(exc: PacsError) -> e.Retry:
    if isinstance(exc, PacsTimeout):
        return e.Retry(e.PACS_TIMEOUT, f"PACS did not answer in time: {exc}")
    if isinstance(exc, PacsUnavailable):
        return e.Retry(e.PACS_UNAVAILABLE, f"PACS unavailable: {exc}")
    if isinstance(exc, PacsFailure):
        return e.Retry(e.PACS_FAILURE, f"PACS refused the query: {exc}")
    return e.Retry(e.PACS_FAILURE, f"PACS error: {exc}")


async def locate_study(ctx: WorkflowContext, study_uid: str) -> LocatedStudy:
    """The study on the first PACS that has it, with all its series and instances."""
    nodes = ctx.settings.pacs
    if not nodes:
        raise e.Reject(e.CONFIG, "no PACS is configured ([[pacs]] in the configuration)")
    unreachable: list[e.Retry] = []
    for node in nodes:
        try:
            matches = await ctx.dimse.find_studies(node, StudyInstanceUID=study_uid)
        except PacsError as exc:
            log.warning("C-FIND of study %s on %s failed: %s", study_uid, node.name, exc)
            unreachable.append(_retry_for(exc))
            continue
        found = [m for m in matches if m.study_instance_uid == study_uid]
        if found:
            try:
                tree = await ctx.dimse.find_study_tree(node, study_uid)
            except PacsError as exc:
                raise _retry_for(exc) from exc
            if not any(series.instances for series in tree.series):
                raise e.Reject(
                    e.STUDY_EMPTY, f"study {study_uid} on PACS {node.name} has no instances"
                )
            return LocatedStudy(node, found[0], tree)
    if unreachable:
        first = unreachable[0]
        raise e.Retry(
            first.code,
            f"study {study_uid} not found on the PACS that answered, and "
            f"{len(unreachable)} PACS could not be asked: {first.reason}",
        )
    names = ", ".join(n.name for n in nodes)
    raise e.Reject(e.STUDY_NOT_FOUND, f"exam {study_uid} not found on any PACS ({names})")


def matching_accession(located: LocatedStudy, accessions: tuple[Identifier, ...]) -> Identifier:
    """The report's accession number that the PACS study carries (DB.VI-SO.33 pair)."""
    on_pacs = located.study.accession_number.strip()
    for accession in accessions:
        if accession.extension is not None and accession.extension.strip() == on_pacs:
            return accession
    wanted = ", ".join(a.extension or "?" for a in accessions) or "none"
    raise e.Reject(
        e.ACCESSION_MISMATCH,
        f"study {located.study.study_instance_uid} on PACS {located.node.name} has accession "
        f"number {on_pacs or '(empty)'!r}, the report says {wanted}; KOS not published",
    )


def check_patient(located: LocatedStudy, ipp: str | None, ins: str | None) -> None:
    """The PACS Patient ID must be the report's IPP (or its INS, for PACS keyed on the INS)."""
    on_pacs = located.study.patient_id.strip()
    accepted = {value for value in (ipp, ins) if value}
    if on_pacs not in accepted:
        raise e.Reject(
            e.PATIENT_MISMATCH,
            f"study {located.study.study_instance_uid} on PACS {located.node.name} belongs to "
            f"patient {on_pacs or '(empty)'!r}, the report's patient is IPP {ipp or '-'} / "
            f"INS {ins or '-'}; KOS not published",
        )
