"""The kit's report builder: every ANS exam with images round-trips through the Source's parser.

What the Source reads back (PID identifiers and traits, OBR-18, the CDA's study UIDs, accession,
orders, author, flags, event) must be the values of the baked ANS exam table, so the demo and
the integrators' messages exercise the same path as the ANS homologation messages.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from drimbox.cda import parse_imaging_report
from drimbox.hl7.message import parse_message
from drimbox.hl7.report import EventKind, parse_report_message
from drimbox.kit.dataset.ans_exams import EXAMS, INS, Exam, exam
from drimbox.kit.hl7.cli import app
from drimbox.kit.hl7.report import build_cda, build_report_message, tiny_pdf

WITH_IMAGES = [e for e in EXAMS if e.generate]


@pytest.mark.parametrize("item", WITH_IMAGES, ids=lambda e: e.letter)
def test_round_trip_matches_the_exam_table(item: Exam) -> None:
    message = parse_report_message(build_report_message(item, control_id=f"T-{item.letter}"))
    assert message.warnings == ()
    assert (message.message_type, message.trigger_event, message.version) == ("ORU", "R01", "2.5")
    assert message.control_id == f"T-{item.letter}"
    assert message.event is EventKind.NEW
    assert (message.order_control, message.result_status) == ("NW", "F")
    patient = message.patient
    assert patient.ins is not None and patient.ipp is not None
    assert (patient.ins.value, patient.ins.oid) == (INS.value, INS.issuer_oid)
    assert (patient.ipp.value, patient.ipp.oid) == (
        item.patient.patient_id,
        item.patient.issuer_oid,
    )
    family, given = item.patient.name.split("^")
    assert (patient.birth_name, patient.first_given_name) == (family, given)
    assert (patient.sex, patient.birth_date) == (item.patient.sex, item.patient.birth_date)
    assert message.accession is not None
    assert (message.accession.value, message.accession.oid) == (
        item.accessions[0],
        item.accession_issuer,
    )
    assert message.flags.as_string() == "NNNNNYNNNN"

    document = message.document
    assert document is not None
    assert document.document_id.root == item.document_id
    assert document.document_code.code == "18748-4"
    assert document.study_instance_uids == item.study_uids
    assert [a.extension for a in document.accession_numbers] == list(item.accessions)
    assert {a.root for a in document.accession_numbers} == {item.accession_issuer}
    assert {o.placer_order.extension for o in document.orders if o.placer_order} == {
        item.placer_order
    }
    assert document.modalities == (item.modality,)
    assert [c.code for c in document.exam_codes] == [item.exam_code]
    assert document.patient.ins is not None and document.patient.ins.extension == INS.value
    assert document.author.rpps and document.legal_authenticator is not None
    assert document.author.organization is not None
    assert document.practice_setting is not None
    assert document.version_number == 1 and document.set_id is not None
    assert document.body_media_type == "application/pdf"


def test_embedded_cda_and_pdf_are_well_formed() -> None:
    raw = build_report_message(exam("C"), control_id="T-C")
    obx = parse_message(raw).all("OBX")[0]
    cda = base64.b64decode(obx.get(5, 5))
    assert cda == build_cda(exam("C"))
    root = etree.fromstring(cda)
    assert root.tag == "{urn:hl7-org:v3}ClinicalDocument"
    text = root.find("{urn:hl7-org:v3}component/{urn:hl7-org:v3}nonXMLBody/{urn:hl7-org:v3}text")
    pdf = base64.b64decode(text.text)
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.endswith(b"%%EOF\n")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref:].startswith(b"xref\n")
    assert parse_imaging_report(cda).warnings == ()


def test_message_header_and_encoding() -> None:
    message = parse_message(build_report_message(exam("H"), control_id="T-H"))
    assert message.msh.get(18) == "UNICODE UTF-8"
    assert [s.name for s in message.segments] == ["MSH", "PID", "ORC", "OBR"] + ["OBX"] * 11
    assert parse_message(build_report_message(exam("H"), control_id="T-H")).warnings == ()


def test_replace_and_depublish_events() -> None:
    c = exam("C")
    replaced = parse_report_message(build_report_message(c, control_id="R", event="replace"))
    assert replaced.event is EventKind.REPLACE
    assert replaced.document is not None
    assert replaced.document.replaced_document is not None
    assert replaced.document.replaced_document.root == c.document_id
    assert replaced.document.document_id.root != c.document_id
    assert replaced.document.version_number == 2
    withdrawn = parse_report_message(build_report_message(c, control_id="D", event="depublish"))
    assert withdrawn.event is EventKind.DEPUBLISH


def test_unknown_event_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event"):
        build_report_message(exam("C"), control_id="X", event="bogus")  # type: ignore[arg-type]


def test_pdf_text_is_escaped() -> None:
    assert b"(a [b] /c)" in tiny_pdf("a (b) \\c")


def test_cli_build_writes_a_message(tmp_path: Path) -> None:
    out = tmp_path / "CR_X.hl7"
    result = CliRunner().invoke(app, ["build", "--exam", "x", "--out", str(out)])
    assert result.exit_code == 0, result.output
    parsed = parse_report_message(out.read_bytes())
    assert parsed.document is not None
    assert parsed.document.study_instance_uids == exam("X").study_uids
    bad = CliRunner().invoke(app, ["build", "--exam", "ZZ", "--out", str(out)])
    assert bad.exit_code == 2
    assert "no ANS exam" in bad.output
