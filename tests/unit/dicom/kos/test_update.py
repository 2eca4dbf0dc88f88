"""New KOS versions: a new SOP instance linked to the previous one; IOCM removals."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest
from pydicom.dataset import Dataset

from drimbox.dicom.kos import (
    KOS_SOP_CLASS_UID,
    KosAuthoring,
    KosError,
    KosNothingLeft,
    KosPatient,
    KosRequest,
    KosSeries,
    build_kin,
    build_kos,
    kos_bytes,
    parse_kos,
    remove_instances,
    supersede,
)
from support.dicom_xml import load_dicom_xml

from .factories import STUDY_A, ans_file, make_series

Run = Callable[[Dataset], list[str]]


@pytest.fixture
def previous(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
) -> Dataset:
    return build_kos(patient, request_a, two_series, authoring)


@pytest.fixture
def later(authoring: KosAuthoring) -> KosAuthoring:
    return dataclasses.replace(
        authoring, content_datetime=authoring.content_datetime + dt.timedelta(days=1)
    )


def test_supersede_makes_a_linked_new_instance(
    previous: Dataset, later: KosAuthoring, dciodvfy: Run
) -> None:
    new = supersede(kos_bytes(previous), later, series=[make_series(1, 3), make_series(3, 4)])
    assert new.SOPInstanceUID != previous.SOPInstanceUID
    assert new.StudyInstanceUID == previous.StudyInstanceUID
    assert new.SeriesInstanceUID == previous.SeriesInstanceUID
    assert (new.SeriesNumber, new.InstanceNumber) == (59, 2)
    assert new.ContentDate == "20240829"
    (link,) = new.PredecessorDocumentsSequence
    assert link.StudyInstanceUID == STUDY_A
    (series,) = link.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == previous.SeriesInstanceUID
    (ref,) = series.ReferencedSOPSequence
    assert (ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID) == (
        KOS_SOP_CLASS_UID,
        previous.SOPInstanceUID,
    )
    parsed = parse_kos(kos_bytes(new))
    assert parsed.predecessor == parse_kos(previous).reference
    assert [s.series_instance_uid[-3:] for s in parsed.series] == ["201", "203"]
    assert parsed.instance_count == 7
    # the identity, the order and the institution are carried over
    assert (parsed.patient.ins, parsed.patient.ipp and parsed.patient.ipp.value) == (
        "279035121518989",
        "IPP101",
    )
    assert (parsed.accession_number, parsed.placer_order_number) == ("ACN101", "OPN101")
    assert new.InstitutionName == previous.InstitutionName
    # description: the dropped series line goes, a line for the new series comes
    assert parsed.description is not None
    assert "101.202" not in parsed.description
    assert "Série-1.2.250.1.213.4.5.2.2.101.203 : CT @ : Serie A3\r\n" in parsed.description
    assert parsed.description.startswith("Examen : Examen A\r\nActe = CT Head W contrast IV\r\n")
    dciodvfy(new)


def test_supersede_without_changes_keeps_the_content(
    previous: Dataset, later: KosAuthoring
) -> None:
    new = supersede(previous, later)
    old, now = parse_kos(previous), parse_kos(new)
    assert now.series == old.series
    assert now.description == old.description
    assert now.sop_instance_uid != old.sop_instance_uid


def test_a_version_of_a_version_links_to_its_direct_predecessor(
    previous: Dataset, later: KosAuthoring
) -> None:
    second = supersede(previous, later)
    third = supersede(second, later, sop_instance_uid="1.2.250.1.999.3")
    parsed = parse_kos(third)
    assert parsed.sop_instance_uid == "1.2.250.1.999.3"
    assert parsed.instance_number == 3
    assert parsed.predecessor is not None
    assert parsed.predecessor.sop_instance_uid == second.SOPInstanceUID


def test_supersede_cannot_move_to_another_study(
    previous: Dataset, later: KosAuthoring, request_a: KosRequest
) -> None:
    other = dataclasses.replace(request_a, study_instance_uid="1.2.250.1.213.4.5.2.1.102")
    with pytest.raises(KosError, match="must stay in study"):
        supersede(previous, later, request=other)


def test_remove_instances(previous: Dataset, later: KosAuthoring, dciodvfy: Run) -> None:
    gone = "1.2.250.1.213.4.5.2.3.101.201.2"
    new = remove_instances(previous, [gone], later)
    assert new is not None
    parsed = parse_kos(new)
    uids = {i.sop_instance_uid for s in parsed.series for i in s.instances}
    assert gone not in uids
    assert len(uids) == 4
    assert parsed.predecessor is not None
    assert parsed.predecessor.sop_instance_uid == previous.SOPInstanceUID
    dciodvfy(new)


def test_removing_a_whole_series_drops_its_item_and_line(
    previous: Dataset, later: KosAuthoring, dciodvfy: Run
) -> None:
    new = remove_instances(
        previous, ["1.2.250.1.213.4.5.2.3.101.202.1", "1.2.250.1.213.4.5.2.3.101.202.2"], later
    )
    assert new is not None
    parsed = parse_kos(new)
    assert [s.series_instance_uid for s in parsed.series] == ["1.2.250.1.213.4.5.2.2.101.201"]
    assert parsed.description is not None
    assert "101.202" not in parsed.description
    dciodvfy(new)


def test_rejecting_unreferenced_instances_changes_nothing(
    previous: Dataset, later: KosAuthoring
) -> None:
    assert remove_instances(previous, ["1.2.3.4.5.6"], later) is None


def test_removing_everything_signals_nothing_left(previous: Dataset, later: KosAuthoring) -> None:
    everything = [i.sop_instance_uid for s in parse_kos(previous).series for i in s.instances]
    with pytest.raises(KosNothingLeft) as caught:
        remove_instances(previous, everything, later)
    assert caught.value.previous_sop_instance_uid == previous.SOPInstanceUID
    with pytest.raises(KosNothingLeft):
        supersede(previous, later, series=[])


def test_a_key_image_note_stays_one(
    patient: KosPatient,
    request_a: KosRequest,
    two_series: list[KosSeries],
    authoring: KosAuthoring,
    later: KosAuthoring,
    dciodvfy: Run,
) -> None:
    keys = ["1.2.250.1.213.4.5.2.3.101.201.1", "1.2.250.1.213.4.5.2.3.101.202.1"]
    kin = build_kin(patient, request_a, two_series, authoring, keys)
    new = remove_instances(kin, keys[:1], later)
    assert new is not None
    parsed = parse_kos(new)
    assert parsed.is_key_image_note
    assert parsed.series_instance_uid == kin.SeriesInstanceUID
    assert parsed.instance_count == 1
    dciodvfy(new)


def test_an_imported_ans_kos_can_be_updated(later: KosAuthoring, dciodvfy: Run) -> None:
    """TE.KOS-LOAD: after loading the ANS KOS, the Source must be able to update it."""
    ans = load_dicom_xml(ans_file("test_a_blanc/Cross-validateur/OK_Cas_Passant/KOS_OK.xml"))
    old = parse_kos(ans)
    first = old.series[0].instances[0].sop_instance_uid
    new = remove_instances(ans, [first], later)
    assert new is not None
    assert new.ConceptNameCodeSequence[0].CodeMeaning == "Manifest"  # ANS wrote "MANIFEST"
    parsed = parse_kos(kos_bytes(new))
    assert parsed.instance_count == 19
    assert parsed.predecessor == old.reference
    assert parsed.patient.ins == "274075176079430"
    assert parsed.accession_number == "725229536725008"
    assert [s.retrieve_url for s in parsed.series] == [s.retrieve_url for s in old.series]
    dciodvfy(new)


def test_predecessor_link_can_be_left_out(
    previous: Dataset, later: KosAuthoring, dciodvfy: Run
) -> None:
    """Without the link the KOS stays inside the KOS IOD: no Standard Extended warning."""
    new = supersede(previous, later, link_predecessor=False)
    assert "PredecessorDocumentsSequence" not in new
    assert new.InstanceNumber == 2
    lines = dciodvfy(new)
    assert not any("Predecessor" in line for line in lines)
