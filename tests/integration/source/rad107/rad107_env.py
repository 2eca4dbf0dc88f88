"""A complete RAD-107 Source over loopback for the integration tests.

Real parts only: the kit's PACS simulator (pynetdicom, C-FIND/C-MOVE) over generated CT series,
our C-STORE SCP, the KOS archive on SQLite with KOS built by ``drimbox.dicom.kos``, the kit's
IdP simulator (RFC 7662 introspection over HTTP), and the Source app served by uvicorn
(``drimbox.web.server.BackgroundServer``) on 127.0.0.1, in the test's own event loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydicom import dcmread
from pydicom.dataset import Dataset

from drimbox.config import PacsNode, Settings
from drimbox.dicom.kos import (
    KosAuthoring,
    KosIdentity,
    KosInstance,
    KosPatient,
    KosRequest,
    KosSeries,
    build_kos,
    kos_bytes,
    series_retrieve_url,
)
from drimbox.dicom.multipart import MultipartReader, Part, boundary_of
from drimbox.kit.idp import IdpSimulator, Professional
from drimbox.source.archive import (
    PUBLISHED,
    InstanceRef,
    KosArchive,
    KosRecord,
    NewKos,
    PatientIdentity,
    SeriesRef,
)
from drimbox.source.rad107 import Rad107Service, mount
from support.dicom_factory import SeriesFiles, uid

CT = "1.2.840.10008.5.1.4.1.1.2"
OUR_AE = "DRIMBOX_SRC"
PACS_AE = "PACS_SOURCE_1"
PACS_NAME = "pacs1"
BASE_PATH = "/drimbox/rs"
CLIENT_ID = "drimbox-source"
CLIENT_SECRET = "rad107 secret"
DICOM_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'
BIG_INSTANCES = 150
DOCTOR = Professional("899700218896", "JEAN", "MEDECIN")


def ins_for(number: int) -> str:
    """A valid INS matricule (13 digits + key 97 − n mod 97)."""
    body = f"17001991{number:05d}"
    return f"{body}{97 - int(body) % 97:02d}"


def kos_for(
    series: list[SeriesFiles], base_url: str, *, ipp: str | None = None, tag: str = "v1"
) -> NewKos:
    """A real DRIM-M KOS (drimbox.dicom.kos) for one patient's study, and its archive row."""
    first = series[0]
    number = int(first.patient_id[-3:])
    patient = KosPatient(
        ins=ins_for(number),
        ins_oid="1.2.250.1.213.1.4.10",
        birth_name="TEST",
        given_names=(first.patient_id,),
        sex="O",
        birth_date=dt.date(1970, 1, 1),
        birth_place_code="63220",
        ipp=ipp or first.patient_id,
        ipp_issuer_oid="1.2.250.1.999.2",
    )
    request = KosRequest(
        study_instance_uid=first.study_uid,
        accession_number=f"ACC{first.patient_id}",
        accession_issuer_oid="1.2.250.1.999.3",
        placer_order_number=f"ORD{first.patient_id}",
        placer_order_issuer_oid="1.2.250.1.999.4",
        requested_procedure_description="CT",
        study_date=dt.date(2024, 1, 2),
        study_time=dt.time(10, 15),
        study_description=f"CT study of {first.patient_id}",
    )
    kos_series = [
        KosSeries(
            series_instance_uid=s.series_uid,
            retrieve_url=series_retrieve_url(base_url, s.study_uid, s.series_uid),
            instances=tuple(KosInstance(CT, sop) for sop in s.sop_uids),
            modality="CT",
        )
        for s in series
    ]
    authoring = KosAuthoring(
        institution_name="Centre de test",
        institution_id="101235555",
        content_datetime=dt.datetime(2024, 1, 2, 12, 0, tzinfo=dt.UTC),
        retrieve_location_uid="1.2.250.1.999.1.1",
        software_versions="drimbox test",
    )
    kos_uid = uid("kos", first.study_uid, tag)
    ds = build_kos(patient, request, kos_series, authoring, identity=KosIdentity(kos_uid))
    return NewKos(
        sop_instance_uid=kos_uid,
        series_instance_uid=str(ds.SeriesInstanceUID),
        study_instance_uid=first.study_uid,
        kos_bytes=kos_bytes(ds),
        series=tuple(
            SeriesRef(
                s.series_instance_uid,
                s.retrieve_url,
                tuple(InstanceRef(i.sop_class_uid, i.sop_instance_uid) for i in s.instances),
                "CT",
            )
            for s in kos_series
        ),
        accession_number=request.accession_number,
        accession_issuer=request.accession_issuer_oid,
        status=PUBLISHED,
        patient=PatientIdentity(ins=patient.ins, ins_oid=patient.ins_oid, ipp=patient.ipp or ""),
        pacs_name=PACS_NAME,
        pacs_index=1,
    )


def pacs_node(port: int) -> PacsNode:
    return PacsNode(
        name=PACS_NAME,
        ae_title=PACS_AE,
        host="127.0.0.1",
        port=port,
        calling_ae=OUR_AE,
        public_base_url=f"https://vi1.999.example.fr{BASE_PATH}",
    )


def source_app(service: Rad107Service) -> FastAPI:
    app = FastAPI(title="RAD-107 test Source")
    mount(app, service)
    return app


@dataclass
class Source:
    """The running Source plus what the tests need to call it."""

    settings: Settings
    service: Rad107Service
    archive: KosArchive
    idp: IdpSimulator
    url: str
    """http(s)://127.0.0.1:port + BASE_PATH"""
    patients: dict[str, list[SeriesFiles]]
    kos: dict[str, KosRecord] = field(default_factory=dict)

    def token(self, **options: Any) -> str:
        """A fresh PSC-like access token from the IdP simulator."""
        return self.idp.tokens.mint(DOCTOR, client_id=CLIENT_ID, **options).token

    def small(self, index: int = 0) -> tuple[KosRecord, list[SeriesFiles]]:
        """The KOS and the series of small patient PAT<index>."""
        patient = f"PAT{index:03d}"
        return self.kos[patient], self.patients[patient]

    def series_url(self, series: SeriesFiles) -> str:
        return f"{self.url}/studies/{series.study_uid}/series/{series.series_uid}"

    def headers(self, kos: KosRecord | str, **extra: str) -> dict[str, str]:
        kos_uid = kos if isinstance(kos, str) else kos.sop_instance_uid
        return {
            "Authorization": f"Bearer {self.token()}",
            "KOS-SOPInstanceUID": kos_uid,
            "Accept": DICOM_ACCEPT,
        } | extra


SourceFactory = Callable[..., AbstractAsyncContextManager[Source]]
"""``async with make_source(wado=…, cache=…, tls=…) as source`` (see conftest)."""


def parts_of(response: httpx.Response) -> list[Part]:
    """Parse a whole multipart/related body (checks the close delimiter)."""
    reader = MultipartReader(boundary_of(response.headers["content-type"]))
    parts = reader.feed(response.content)
    reader.close()
    return parts


def dataset_of(part: Part) -> Dataset:
    return dcmread(BytesIO(part.body))


def archive_paths(root: Path) -> Path:
    return root / PACS_AE


async def get(url: str, headers: dict[str, str]) -> httpx.Response:
    """One GET on a fresh connection."""
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.get(url, headers=headers)


def outcome(answer: httpx.Response) -> tuple[int, str]:
    """(status, code) of a refusal, after checking its JSON body is well formed."""
    body: dict[str, Any] = answer.json()
    assert body["message"] and body["status"] == answer.status_code, body
    return answer.status_code, str(body["code"])
