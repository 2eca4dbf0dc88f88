"""Source ingestion end to end over real sockets (issue "Source ingestion", acceptance).

The ANS HL7 messages (completed by tests/support/ans_messages) go over MLLP to a running
SourceService, whose workers find the exams by C-FIND in the PACS simulator loaded with
``drimbox kit dataset generate --profile ans``, build the DRIM-M KOS and archive them.
Requirements: DB.VI-SO.33 / DB.VI-SO.115 (what the archive keeps), TE.DATA, TE.SIM-HL7,
TE.SIM-PACS.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from drimbox.config import Settings
from drimbox.dicom.kos import parse_kos
from drimbox.hl7.ack import parse_ack
from drimbox.hl7.client import send_messages
from drimbox.kit.dataset.api import Manifest
from drimbox.source.archive import DELETED, PENDING, REPLACED, UNPUBLISHED, KosRecord
from drimbox.source.inbox import DONE, DUPLICATE, FAILED
from drimbox.source.service import SourceService
from e2e.source_env import PUBLIC_BASE, dciodvfy_errors, settled, study_of
from support.ans_messages import exam_message, omi_cancellation

INS = "279035121518989"
INS_OID = "1.2.250.1.213.1.4.10"
IPP_OID = "1.2.250.1.213.4.5.2.4"
# exam letter -> study number (1NN) for exams with images in the ans profile
DRIMBOX_HL7_SEND = (str(Path(sys.executable).parent / "drimbox"), "kit", "hl7", "send")
EXAMS = {"A": 101, "C": 103, "E": 105, "H": 109, "X": 125, "Y": 126}


async def run_cli(*args: str, command: tuple[str, ...] = ()) -> tuple[int, str, str]:
    """Run ``drimbox kit hl7 send …`` (or ``command``) as a subprocess, without blocking the
    event loop the service runs on."""
    process = await asyncio.create_subprocess_exec(
        *(command or DRIMBOX_HL7_SEND),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def send(service: SourceService, *messages: bytes) -> list[tuple[str, str, str]]:
    acks = await send_messages("127.0.0.1", service.mllp_port, list(messages), timeout=30)
    return [parse_ack(ack) for ack in acks]


async def message_id(service: SourceService, control_id: str) -> int:
    for record in await service.inbox.list_messages(limit=1000):
        if record.control_id == control_id:
            return record.id
    raise AssertionError(f"message {control_id} not in the inbox")


async def processed(service: SourceService, control_id: str) -> int:
    """Wait until the message is done/duplicate/failed; return its inbox id."""
    return (await settled(service, await message_id(service, control_id))).id


def expected_instances(manifest: Manifest, study_uid: str) -> dict[str, set[str]]:
    series: dict[str, set[str]] = {}
    for entry in manifest.files:
        if entry.study_instance_uid == study_uid:
            series.setdefault(entry.series_instance_uid, set()).add(entry.sop_instance_uid)
    return series


async def check_kos(
    service: SourceService, record: KosRecord, manifest: Manifest, tmp_path: Path
) -> None:
    """The archived KOS names the exam, the patient and every instance; dciodvfy is clean."""
    study = record.study_instance_uid
    data = await service.archive.kos_bytes(record.id)
    kos = parse_kos(data)
    assert kos.study_instance_uid == study
    assert kos.accession_number == record.accession_number
    assert kos.accession_issuer_oid == record.accession_issuer
    assert kos.institution_name == "Centre de radiologie Ambroise"
    assert kos.institution_id in ("101235555", "1750803447")  # G1_MAJ names another id
    assert kos.patient.ins == INS
    assert record.patient.ins == INS and record.patient.ins_oid == INS_OID
    assert record.patient.ipp == "IPP101" and record.patient.ipp_issuer == IPP_OID
    assert record.patient.birth_name == "PAT-TROIS" and record.patient.sex == "F"
    assert record.institution_name == "Centre de radiologie Ambroise"
    expected = expected_instances(manifest, study)
    got = {s.series_instance_uid: {i.sop_instance_uid for i in s.instances} for s in kos.series}
    assert got == expected
    for series in kos.series:
        assert (
            series.retrieve_url
            == f"{PUBLIC_BASE}/studies/{study}/series/{series.series_instance_uid}"
        )
    stored = await service.archive.series_of(record.id)
    assert {s.series_instance_uid: s.instance_count for s in stored} == {
        uid: len(sops) for uid, sops in expected.items()
    }
    assert dciodvfy_errors(data, tmp_path, record.sop_instance_uid) == []


async def only_kos(service: SourceService, study_uid: str) -> KosRecord:
    records = await service.archive.find_by_study(study_uid)
    assert len(records) == 1, records
    return records[0]


async def test_ans_oru_reports_become_kos(
    service: SourceService, ans_dataset: tuple[Path, Manifest], tmp_path: Path
) -> None:
    _, manifest = ans_dataset
    messages = [exam_message(f"CR_{letter}-ORU", f"ORU-{letter}") for letter in EXAMS]
    acks = await send(service, *messages)
    assert [code for code, _, _ in acks] == ["AA"] * len(EXAMS)
    assert [control for _, control, _ in acks] == [f"ORU-{letter}" for letter in EXAMS]
    for letter, number in EXAMS.items():
        record = await service.inbox.get(await processed(service, f"ORU-{letter}"))
        assert (record.status, record.last_error) == (DONE, ""), letter
        kos = await only_kos(service, study_of(number))
        assert record.kos_id == kos.id
        assert kos.accession_number == f"ACN{number}"
        assert kos.message_id == record.id
        assert kos.cda_document_id == f"1.2.250.1.213.4.5.4.4{number - 100:02d}"
        assert kos.dmp_flags["destdmp"] is True
        await check_kos(service, kos, manifest, tmp_path)


async def test_mdm_sent_with_the_kit_cli_as_a_subprocess(
    service: SourceService, ans_dataset: tuple[Path, Manifest], tmp_path: Path
) -> None:
    """``drimbox kit hl7 send --personalise`` (TE.SIM-HL7) fills MSH-10 and prints the ACKs."""
    files = []
    for letter in ("B", "D"):
        path = tmp_path / f"CR_{letter}-MDM.hl7"
        # LF segment ends and an MSH-10 placeholder, as a hand-edited file would have
        path.write_bytes(exam_message(f"CR_{letter}-MDM", "{{idMessage}}").replace(b"\r", b"\n"))
        files.append(str(path))
    code, out, err = await run_cli("--port", str(service.mllp_port), "--personalise", *files)
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split()[1] for line in lines] == ["AA", "AA"]
    for line, number in zip(lines, (102, 104), strict=True):
        control_id = line.split()[2]
        assert "{{" not in control_id
        assert (await service.inbox.get(await processed(service, control_id))).status == DONE
        await check_kos(
            service, await only_kos(service, study_of(number)), ans_dataset[1], tmp_path
        )


async def test_kit_cli_exit_code_is_1_when_an_ack_is_not_aa(
    service: SourceService, tmp_path: Path
) -> None:
    path = tmp_path / "adt.hl7"
    path.write_bytes(b"MSH|^~\\&|RIS|F|DRIMBOX|S|20240101||ADT^A01|X1|P|2.5\rPID|1||123^^^H^PI\r")
    code, out, _ = await run_cli("--port", str(service.mllp_port), str(path))
    assert code == 1
    assert out.split()[1] == "AR"


async def test_exam_f_with_two_studies_gives_two_kos(
    service: SourceService, ans_dataset: tuple[Path, Manifest], tmp_path: Path
) -> None:
    assert (await send(service, exam_message("CR_F-ORU", "ORU-F")))[0][0] == "AA"
    record = await service.inbox.get(await processed(service, "ORU-F"))
    assert record.status == DONE, record.last_error
    for number in (106, 107):
        kos = await only_kos(service, study_of(number))
        assert kos.accession_number == f"ACN{number}"
        assert kos.cda_document_id == "1.2.250.1.213.4.5.4.406"
        await check_kos(service, kos, ans_dataset[1], tmp_path)


async def cli_messages(settings: Settings, tmp_path: Path) -> list[dict[str, object]]:
    """``drimbox source messages --json`` on the service's database."""
    config = tmp_path / "drimbox.toml"
    config.write_text(f'data_dir = "{settings.data_dir}"\n')
    code, out, err = await run_cli(
        "-c", str(config), "source", "messages", "--json", command=(DRIMBOX_HL7_SEND[0],)
    )
    assert code == 0, err
    listed: list[dict[str, object]] = json.loads(out)
    return listed


async def test_g2_unknown_study_is_failed_and_listed_for_the_administrator(
    service: SourceService, settings: Settings, tmp_path: Path
) -> None:
    assert (await send(service, exam_message("CR_G2-ORU", "ORU-G2")))[0][0] == "AA"
    record = await service.inbox.get(await processed(service, "ORU-G2"))
    assert record.status == FAILED
    assert record.last_error_code == "study-not-found"
    assert "1.2.3.4.5.6.7.8.9 not found on any PACS" in record.last_error
    assert await service.archive.find_by_study("1.2.3.4.5.6.7.8.9") == []
    listed = await cli_messages(settings, tmp_path)
    assert [(m["control_id"], m["status"], m["last_error_code"]) for m in listed] == [
        ("ORU-G2", "failed", "study-not-found")
    ]


async def test_m_identity_traits_not_those_of_the_ins_owner_are_rejected(
    service: SourceService,
) -> None:
    """Exam M: the report declares ANS-DRIM PatientBis, M, 2012-01-25 with PAT-TROIS's INS
    (a woman born in March 1979, as the INS-NIR itself encodes): no KOS, reason recorded."""
    assert (await send(service, exam_message("CR_M-ORU", "ORU-M")))[0][0] == "AA"
    record = await service.inbox.get(await processed(service, "ORU-M"))
    assert (record.status, record.last_error_code) == (FAILED, "identity-mismatch")
    assert "sex M" in record.last_error and "birth year 2012" in record.last_error
    assert await service.archive.find_by_study(study_of(114)) == []


async def test_replacement_makes_version_2_linked_to_version_1(
    service: SourceService, ans_dataset: tuple[Path, Manifest], tmp_path: Path
) -> None:
    study = study_of(108)
    await send(service, exam_message("CR_G1-ORU", "G1"))
    await processed(service, "G1")
    first = await only_kos(service, study)
    replacement = exam_message("CR_G1_MAJ-ORU", "G1-MAJ")
    assert (await send(service, replacement))[0][0] == "AA"
    record = await service.inbox.get(await processed(service, "G1-MAJ"))
    assert record.status == DONE, record.last_error
    old, new = await service.archive.find_by_study(study)
    assert old.id == first.id and old.status == REPLACED and old.replaced_by_id == new.id
    assert new.version == 2 and new.replaces_id == old.id
    assert new.cda_document_id == "1.2.250.1.213.4.5.4.4072"
    assert new.series_instance_uid == old.series_instance_uid
    kos = parse_kos(await service.archive.kos_bytes(new.id))
    assert kos.predecessor is not None
    assert kos.predecessor.sop_instance_uid == old.sop_instance_uid
    await check_kos(service, new, ans_dataset[1], tmp_path)

    # The same message again (lost ACK): acknowledged, not stored twice, nothing changes.
    assert (await send(service, replacement))[0][:2] == ("AA", "G1-MAJ")
    # The same documents from other messages (MDM twins): duplicates, nothing changes.
    await send(
        service, exam_message("CR_G1-MDM", "G1-MDM"), exam_message("CR_G1_MAJ-MDM", "G1-MAJ-MDM")
    )
    for control_id in ("G1-MDM", "G1-MAJ-MDM"):
        assert (await service.inbox.get(await processed(service, control_id))).status == DUPLICATE
    assert [
        (k.id, k.status, k.sop_instance_uid) for k in await service.archive.find_by_study(study)
    ] == [
        (old.id, REPLACED, old.sop_instance_uid),
        (new.id, new.status, new.sop_instance_uid),
    ]
    assert len(await service.inbox.list_messages()) == 4


async def test_depublication_unpublishes_the_kos(service: SourceService) -> None:
    await send(service, exam_message("CR_I-ORU", "I"))
    await processed(service, "I")
    kos = await only_kos(service, study_of(110))
    await send(service, exam_message("CR_I_Depublication-ORU", "I-DEP"))
    assert (await service.inbox.get(await processed(service, "I-DEP"))).status == DONE
    assert (await service.archive.get(kos.id)).status == UNPUBLISHED
    # The MDM depublication of the same document: already done.
    await send(service, exam_message("CR_I_Depublication-MDM", "I-DEP-MDM"))
    assert (await service.inbox.get(await processed(service, "I-DEP-MDM"))).status == DUPLICATE
    assert (await service.archive.get(kos.id)).status == UNPUBLISHED


async def test_exam_cancellation_deletes_the_kos(service: SourceService) -> None:
    await send(service, exam_message("CR_W-ORU", "W"))
    await processed(service, "W")
    kos = await only_kos(service, study_of(124))
    assert kos.status == PENDING  # awaiting DMP submission
    ack = await send(service, omi_cancellation())
    assert ack[0][0] == "AA"
    cancel_id = await processed(service, ack[0][1])  # the ANS OMI has its own MSH-10
    assert (await service.inbox.get(cancel_id)).status == DONE
    assert (await service.archive.get(kos.id)).status == DELETED
    await send(service, omi_cancellation())  # re-sent: same row, nothing changes
    assert len(await service.inbox.list_messages()) == 2
    assert (await service.archive.get(kos.id)).status == DELETED


@pytest.mark.parametrize("letter", ["C"])
async def test_report_sent_before_it_is_due_is_not_lost_on_stop(
    settings: Settings, letter: str
) -> None:
    """A message stored while the workers are stopped is processed by the next service."""
    async with SourceService(settings) as first:
        await first.processor.stop()
        await send(first, exam_message(f"CR_{letter}-ORU", "LATE"))
    async with SourceService(settings, idle_poll=0.5) as second:
        record = await second.inbox.get(await processed(second, "LATE"))
        assert record.status == DONE
