"""Series metadata (``…/series/{series}/metadata``, DICOM JSON, PS3.18 §F.2).

Served from the cache when the series was pre-fetched (computed when the instances arrived),
else computed from the PACS instances (no transcoding) and cached. Only the instances the KOS
references are described. Binary values (pixel data, large OB/OW) are ``BulkDataURI``s under the
instance URL: ``<series RetrieveURL>/instances/{sop}/bulk/{tag}``; the cache stores them with a
marker in place of the series URL, because the public base can differ per request location.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from drimbox.dicom import dicomjson
from drimbox.source.archive import KosRecord

from .cache import BASE_MARKER
from .checks import check_identity
from .retrieval import pacs_instances, pacs_of, plan_series
from .service import Rad107Service


def instance_json(part10: bytes, sop_uid: str) -> dict[str, Any]:
    """One instance's DICOM JSON, BulkDataURIs relative to :data:`BASE_MARKER`."""
    return dicomjson.instance_metadata(
        part10, dicomjson.bulk_under(f"{BASE_MARKER}/instances/{sop_uid}")
    )


def cache_document(patient_ids: Sequence[str], items: list[dict[str, Any]]) -> bytes:
    """What the cache keeps: the instances plus the PACS patient ids (for the E209 check)."""
    return json.dumps({"patient_ids": list(patient_ids), "instances": items}).encode("utf-8")


def _select(document: bytes, wanted: Sequence[str]) -> tuple[tuple[str, ...], list[Any]] | None:
    """Patient ids and the wanted instances in KOS order (None: unreadable or incomplete)."""
    try:
        parsed = json.loads(document)
        items = parsed["instances"]
        by_sop = {str(i["00080018"]["Value"][0]): i for i in items}
        patient_ids = tuple(str(p) for p in parsed["patient_ids"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if any(sop not in by_sop for sop in wanted):
        return None
    return patient_ids, [by_sop[sop] for sop in wanted]


def render(items: list[dict[str, Any]], series_url: str) -> bytes:
    """The response body: compact JSON with the marker replaced by the series URL."""
    text = dicomjson.dumps(items).decode("utf-8")
    return text.replace(BASE_MARKER, series_url.rstrip("/")).encode("utf-8")


async def series_metadata(
    service: Rad107Service, kos: KosRecord, series_uid: str
) -> list[dict[str, Any]]:
    """The metadata of the series' instances the KOS grants, from the cache or from the PACS."""
    granted = await service.archive.instances_of(kos.id, series_uid)
    wanted = [r.sop_instance_uid for r in granted]
    cache = service.cache
    study_uid = kos.study_instance_uid
    if cache is not None:
        document = cache.metadata(study_uid, series_uid)
        selected = None if document is None else _select(document, wanted)
        if selected is not None:
            check_identity(kos, selected[0])
            return selected[1]
    node = pacs_of(service.settings, kos)
    timeout = service.settings.source.wado.pacs_timeout
    plan = await plan_series(service.dimse, node, kos, series_uid, granted, timeout)
    items: dict[str, dict[str, Any]] = {}
    async for instance in pacs_instances(service.dimse, plan, timeout):
        items[instance.sop_instance_uid] = await asyncio.to_thread(
            instance_json, instance.data, instance.sop_instance_uid
        )
    ordered = [items[sop] for sop in plan.wanted if sop in items]  # minus PACS-deleted ones
    if cache is not None and len(ordered) == len(plan.wanted):
        document = cache_document(plan.patient_ids, ordered)
        await asyncio.to_thread(cache.put_metadata, study_uid, series_uid, document)
    return ordered
