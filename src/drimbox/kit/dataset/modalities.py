"""The ``modalities`` profile: one small valid instance per SOP class of DB.VI-CS.30, the pixel
variants of DB.VI-CS.31, and a PET+CT pair for fusion (same patient and Frame of Reference).

The patient name is non-ASCII on purpose, so every file exercises Specific Character Set
ISO_IR 192.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from drimbox.kit.dataset import (
    classic,
    enhanced,
    enhanced_volume,
    enhanced_xray,
    nuclear,
    variants,
)
from drimbox.kit.dataset.common import (
    FileEntry,
    Patient,
    Series,
    Spec,
    Study,
    derive_uid,
    write_dataset,
)
from drimbox.kit.dataset.ct import AxialGeometry, acquisition_time, ct_dataset, set_ct_pixels
from drimbox.kit.dataset.phantom import body_ct_slice

Progress = Callable[[int], None]

PATIENT = Patient(
    name="MODALITÉS^Hélène",
    patient_id="DRIMBOX-MOD-1",
    birth_date="19800101",
    sex="F",
    issuer="DRIMBOX-KIT",
)
FUSION_SLICES = 8


SPECS: tuple[Spec, ...] = (
    Spec("CR", "CR", classic.cr, body_part="CHEST", frame_of_reference=False),
    Spec(
        "CR_MONOCHROME1",
        "CR",
        partial(classic.cr, photometric="MONOCHROME1"),
        body_part="CHEST",
        frame_of_reference=False,
    ),
    Spec("DX", "DX", classic.dx, body_part="CHEST"),
    Spec("MG", "MG", classic.mg, body_part="BREAST"),
    Spec("MR", "MR", classic.mr, body_part="KNEE"),
    Spec("MR_SIGNED16", "MR", partial(classic.mr, signed=True), body_part="KNEE"),
    Spec("CT_SIGNED16", "CT", variants.ct_signed, body_part="HEAD"),
    Spec("US", "US", classic.us, body_part="ABDOMEN"),
    Spec("US_MULTIFRAME_RGB", "US", classic.us_multiframe, body_part="ABDOMEN"),
    Spec("US_PALETTE_COLOR", "US", variants.us_palette, body_part="ABDOMEN"),
    Spec("US_YBR_FULL_422", "US", variants.us_ybr_full_422, variants.YBR_SYNTAX, "ABDOMEN"),
    Spec("SC", "OT", classic.secondary_capture, body_part="CHEST", frame_of_reference=False),
    Spec(
        "SC_MF_SINGLE_BIT", "OT", classic.sc_single_bit, body_part="CHEST", frame_of_reference=False
    ),
    Spec(
        "SC_MF_GRAYSCALE_BYTE",
        "OT",
        classic.sc_grayscale_byte,
        body_part="CHEST",
        frame_of_reference=False,
    ),
    Spec(
        "SC_MF_GRAYSCALE_WORD",
        "OT",
        classic.sc_grayscale_word,
        body_part="CHEST",
        frame_of_reference=False,
    ),
    Spec("SC_RGB_PLANAR1", "OT", classic.sc_rgb, body_part="CHEST", frame_of_reference=False),
    Spec(
        "SC_RGB_PLANAR0",
        "OT",
        partial(classic.sc_rgb, planar=0),
        body_part="CHEST",
        frame_of_reference=False,
    ),
    Spec(
        "SC_MF_TRUE_COLOR", "OT", classic.sc_true_color, body_part="CHEST", frame_of_reference=False
    ),
    Spec("XA", "XA", classic.xa, body_part="HEART", frame_of_reference=False),
    Spec("XRF", "RF", classic.xrf, body_part="ABDOMEN", frame_of_reference=False),
    Spec("NM", "NM", nuclear.nm, body_part="THYROID"),
    Spec("PET", "PT", nuclear.pet, body_part="WHOLEBODY"),
    Spec("ENCAPSULATED_PDF", "DOC", variants.encapsulated_pdf, frame_of_reference=False),
    *enhanced.SPECS,
    *enhanced_xray.SPECS,
    *enhanced_volume.SPECS,
)


def _study(seed: int, key: str, description: str, time: str) -> Study:
    return Study(
        uid=derive_uid(seed, "modalities", key, "study"),
        patient=PATIENT,
        date="20240402",
        time=time,
        description=description,
        accession=f"MOD{seed % 100000:05d}{key[:2].upper()}",
        institution="DRIMbox kit test site",
    )


def _series(seed: int, study: Study, number: int, spec: Spec) -> Series:
    label = spec.label
    return Series(
        uid=derive_uid(seed, "modalities", label, "series"),
        study=study,
        number=number,
        modality=spec.modality,
        description=label.replace("_", " "),
        frame_of_reference=(
            derive_uid(seed, "modalities", label, "for") if spec.frame_of_reference else ""
        ),
        body_part=spec.body_part,
        time="093000",
    )


def file_count() -> int:
    """Number of files the profile writes (for progress bars)."""
    return len(SPECS) + 2 * FUSION_SLICES


def generate_modalities(out: Path, seed: int, progress: Progress | None = None) -> list[FileEntry]:
    """Write every Spec under ``out/MODALITIES`` and the fusion pair under ``out/FUSION``."""
    study = _study(seed, "catalogue", "SOP CLASS CATALOGUE", "090000")
    entries = []
    for number, spec in enumerate(SPECS, start=1):
        series = _series(seed, study, number, spec)
        sop_uid = derive_uid(seed, "modalities", spec.label, "sop")
        ds = spec.builder(series, sop_uid, seed)
        entries.append(
            write_dataset(ds, out, f"MODALITIES/{spec.label}.dcm", spec.label, spec.syntax)
        )
        if progress:
            progress(1)
    entries.extend(_fusion(out, seed, progress))
    return entries


def _fusion(out: Path, seed: int, progress: Progress | None) -> list[FileEntry]:
    """CT and PET of one study sharing a Frame of Reference and the same slice positions."""
    study = _study(seed, "fusion", "PET-CT FUSION", "100000")
    frame_of_reference = derive_uid(seed, "modalities", "fusion", "for")
    geometry = AxialGeometry(size=128, pixel_spacing=3.0, thickness=6.0, z0=-100.0)
    ct_series = Series(
        derive_uid(seed, "fusion", "ct"),
        study,
        1,
        "CT",
        "CT AC",
        frame_of_reference,
        "WHOLEBODY",
        "100000",
    )
    pet_series = Series(
        derive_uid(seed, "fusion", "pet"),
        study,
        2,
        "PT",
        "PET AC",
        frame_of_reference,
        "WHOLEBODY",
        "101000",
    )
    entries = []
    for i in range(FUSION_SLICES):
        ds = ct_dataset(
            ct_series,
            derive_uid(seed, "fusion", "ct", i),
            i,
            geometry,
            acquisition_time(36_000, i, 500),
        )
        set_ct_pixels(ds, body_ct_slice(400 + 40 * i, 1300, seed, size=128, noise_hu=10.0), False)
        entries.append(write_dataset(ds, out, f"FUSION/CT{i + 1:03d}.dcm", "FUSION_CT"))
        pet = nuclear.pet(
            pet_series,
            derive_uid(seed, "fusion", "pet", i),
            seed,
            i,
            FUSION_SLICES,
            size=64,
            spacing=6.0,
            z0=-100.0,
            slice_step=6.0,
        )
        entries.append(write_dataset(pet, out, f"FUSION/PT{i + 1:03d}.dcm", "FUSION_PT"))
        if progress:
            progress(2)
    return entries
