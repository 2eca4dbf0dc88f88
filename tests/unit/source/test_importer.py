"""TE.KOS-LOAD: KOS files and XDM archives imported into the KOS archive (SQLite)."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drimbox.config import Settings
from drimbox.dicom.kos import kos_bytes, parse_kos
from drimbox.source.archive import PUBLISHED, REPLACED, KosArchive
from drimbox.source.importer import import_kos_bytes, import_kos_files, import_xdm
from drimbox.source.xdm import XdmError, XdmLimits
from drimbox.store.db import Database, upgrade_schema
from support.dicom_xml import load_dicom_xml
from support.kos_samples import (
    OTHER_BASE_URL,
    default_pacs,
    make_kos,
    settings_for,
    simple_kos,
)

ANS = Path("/work/shared/drim-m-data")
ANS_KOS = "test_a_blanc/Cross-validateur/OK_Cas_Passant/KOS_OK.xml"
ANS_BASE = "http://79.137.56.229:10368/drim-so/v1/rs"
CDA_ID = "1.2.250.1.999.1.1.8121.5.77"


@pytest.fixture
async def archive(tmp_path: Path) -> AsyncIterator[KosArchive]:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade_schema(url)
    database = Database(url)
    yield KosArchive(database.async_sessions())
    await database.adispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path)


async def test_files_and_directory_report_per_file(
    tmp_path: Path, archive: KosArchive, settings: Settings
) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.dcm").write_bytes(simple_kos(1))
    (folder / "sub" / "b").write_bytes(simple_kos(2))
    (folder / "not-dicom.txt").write_text("hello")
    (folder / "wrong-pacs.dcm").write_bytes(simple_kos(3, base_url=OTHER_BASE_URL))
    results = await import_kos_files([folder], archive, settings)
    by_name = {Path(r.source).name: r for r in results}
    assert by_name["a.dcm"].outcome == "imported" and by_name["b"].outcome == "imported"
    assert by_name["not-dicom.txt"].outcome == "invalid"
    assert "not a DICOM" in by_name["not-dicom.txt"].reason
    wrong = by_name["wrong-pacs.dcm"]
    assert wrong.outcome == "invalid" and "public_base_url of no configured PACS" in wrong.reason
    record = await archive.get_by_sop_uid(parse_kos(simple_kos(1)).sop_instance_uid)
    assert record is not None
    assert (record.origin, record.status, record.pacs_name, record.pacs_index) == (
        "imported_kos", PUBLISHED, "pacs1", 1,
    )  # fmt: skip
    assert record.patient.ins == "279035121518989" and record.accession_number == "ACN101"
    assert len(await archive.instances_of(record.id)) == 3
    again = await import_kos_files([folder / "a.dcm"], archive, settings)
    assert again[0].outcome == "already_present" and again[0].kos_id == record.id


async def test_second_kos_of_a_study_becomes_its_new_version(
    archive: KosArchive, settings: Settings
) -> None:
    study = "1.2.826.0.1.3680043.8.498.99.7"
    first = kos_bytes(make_kos(study, [(f"{study}.1", [f"{study}.1.1", f"{study}.1.2"])]))
    second = kos_bytes(make_kos(study, [(f"{study}.1", [f"{study}.1.1"])]))
    one = await import_kos_bytes("first", first, archive, settings)
    two = await import_kos_bytes("second", second, archive, settings)
    assert two.outcome == "imported" and two.replaces_id == one.kos_id
    assert (await archive.get(one.kos_id or 0)).status == REPLACED
    other_accession = kos_bytes(make_kos(study, [(f"{study}.1", [f"{study}.1.1"])], accession="X9"))
    refused = await import_kos_bytes("third", other_accession, archive, settings)
    assert refused.outcome == "invalid" and "accession" in refused.reason


async def test_same_uid_with_other_content_is_refused(
    archive: KosArchive, settings: Settings
) -> None:
    data = simple_kos(4)
    await import_kos_bytes("x", data, archive, settings)
    forged = data.replace(b"Ambroise", b"Ambroisx")
    result = await import_kos_bytes("y", forged, archive, settings)
    assert result.outcome == "invalid" and "different content" in result.reason


async def test_ans_kos_content_is_imported(tmp_path: Path, archive: KosArchive) -> None:
    settings = settings_for(tmp_path, pacs=[default_pacs(base_url=ANS_BASE)])
    data = kos_bytes(load_dicom_xml(ANS / ANS_KOS))
    result = await import_kos_bytes("KOS_OK", data, archive, settings)
    assert result.outcome == "imported", result.reason
    record = await archive.get(result.kos_id or 0)
    assert record.patient.ins == "274075176079430"
    assert len(await archive.instances_of(record.id)) == 20


def _metadata(kos: bytes, *, uri: str = "KOS_1.DCM", entity: str = "") -> bytes:
    """METADATA.XML modelled on the ANS sample: a CDA and its KOS in one submission set."""
    sha1 = hashlib.sha1(kos).hexdigest()
    return f"""<?xml version="1.0" encoding="UTF-8"?>{entity}
<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
 xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><RegistryObjectList>
<RegistryPackage id="SubmissionSet01"/>
<ExtrinsicObject id="DocumentCDA" mimeType="text/xml">
 <Classification classificationScheme="urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
  classifiedObject="DocumentCDA" id="c1" nodeRepresentation="18748-4"/>
 <ExternalIdentifier id="e1" identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
  registryObject="DocumentCDA" value="{CDA_ID}"/>
 <Slot name="URI"><ValueList><Value>CDA_1.XML</Value></ValueList></Slot>
</ExtrinsicObject>
<ExtrinsicObject id="DocumentKOS" mimeType="application/dicom">
 <Slot name="size"><ValueList><Value>{len(kos)}</Value></ValueList></Slot>
 <Slot name="hash"><ValueList><Value>{sha1}</Value></ValueList></Slot>
 <Slot name="URI"><ValueList><Value>{uri}</Value></ValueList></Slot>
 <ExternalIdentifier id="e2" identificationScheme="urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
  registryObject="DocumentKOS" value="279035121518989^^^&amp;1.2.250.1.213.1.4.10&amp;ISO^NH"/>
 <ExternalIdentifier id="e3" identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
  registryObject="DocumentKOS" value="1.2.250.1.999.1.1.8121.6.1"/>
</ExtrinsicObject>
<Association associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
 id="a1" sourceObject="SubmissionSet01" targetObject="DocumentKOS"/>
</RegistryObjectList></lcm:SubmitObjectsRequest>""".encode()


def _xdm(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("INDEX.HTM", "<html><body>XDM</body></html>")
        out.writestr("README.TXT", "DRIMbox test export")
        for name, data in members.items():
            out.writestr(name, data)
    return path


async def test_xdm_import_keeps_the_cda_id(
    tmp_path: Path, archive: KosArchive, settings: Settings
) -> None:
    kos = simple_kos(5)
    path = _xdm(
        tmp_path / "export.zip",
        {
            "IHE_XDM/SUBSET01/METADATA.XML": _metadata(kos),
            "IHE_XDM/SUBSET01/KOS_1.DCM": kos,
            "IHE_XDM/SUBSET01/CDA_1.XML": b"<ClinicalDocument/>",
        },
    )
    results = await import_xdm(path, archive, settings)
    assert [r.outcome for r in results] == ["imported"], results
    record = await archive.get(results[0].kos_id or 0)
    assert record.origin == "imported_xdm" and record.cda_document_id == CDA_ID


async def test_xdm_hash_mismatch_is_reported(
    tmp_path: Path, archive: KosArchive, settings: Settings
) -> None:
    kos = simple_kos(6)
    path = _xdm(
        tmp_path / "bad.zip",
        {
            "IHE_XDM/SUBSET01/METADATA.XML": _metadata(kos),
            "IHE_XDM/SUBSET01/KOS_1.DCM": kos + b"\0\0",
        },
    )
    results = await import_xdm(path, archive, settings)
    assert results[0].outcome == "invalid" and "metadata says" in results[0].reason


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../evil/METADATA.XML": b"x"}, "path traversal"),
        ({"/etc/IHE_XDM/S/METADATA.XML": b"x"}, "absolute path"),
        ({"IHE_XDM\\S\\METADATA.XML": b"x"}, "backslash"),
        ({"README2.TXT": b"x"}, "not an XDM archive"),
    ],
)
async def test_unsafe_or_foreign_zip_is_refused(
    tmp_path: Path,
    archive: KosArchive,
    settings: Settings,
    members: dict[str, bytes],
    message: str,
) -> None:
    path = _xdm(tmp_path / "evil.zip", members)
    with pytest.raises(XdmError, match=message):
        await import_xdm(path, archive, settings)


async def test_zip_bomb_and_oversized_entries_are_refused(
    tmp_path: Path, archive: KosArchive, settings: Settings
) -> None:
    bomb = _xdm(tmp_path / "bomb.zip", {"IHE_XDM/S/KOS.DCM": b"\0" * (8 * 1024 * 1024)})
    with pytest.raises(XdmError, match="zip bomb"):
        await import_xdm(bomb, archive, settings)
    big = _xdm(tmp_path / "big.zip", {"IHE_XDM/S/KOS.DCM": bytes(range(256)) * 8192})
    with pytest.raises(XdmError, match="allowed for one entry"):
        await import_xdm(big, archive, settings, limits=XdmLimits(max_member_bytes=1024 * 1024))


async def test_xml_external_entity_is_refused(
    tmp_path: Path, archive: KosArchive, settings: Settings
) -> None:
    kos = simple_kos(8)
    entity = '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    path = _xdm(
        tmp_path / "xxe.zip",
        {
            "IHE_XDM/S/METADATA.XML": _metadata(kos, entity=entity),
            "IHE_XDM/S/KOS_1.DCM": kos,
        },
    )
    with pytest.raises(XdmError, match="entities"):
        await import_xdm(path, archive, settings)


def test_ans_metadata_with_undeclared_prefix_is_read() -> None:
    from drimbox.source.xdm import documents, parse_metadata

    data = (ANS / "informatif/XDM/KA202401/IHE_XDM/SS000001/METADATA.XML").read_bytes()
    docs = {d.entry_id: d for d in documents(parse_metadata(data))}
    kos = docs["DocumentKOS"]
    assert kos.mime_type == "application/dicom" and kos.uri == "SS000001/KOS_1_1.DCM"
    assert kos.unique_id == "1.3.2.751468943.3.1234.99352.240116151112.1.1.1"
    assert kos.size == 5164
