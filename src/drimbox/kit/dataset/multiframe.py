"""Functional group macros and the Multi-frame Functional Groups / Dimension skeleton (PS3.3
C.7.6.16, C.7.6.17) shared by the enhanced IODs."""

from __future__ import annotations

from collections.abc import Sequence

from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset

from drimbox.kit.dataset.common import Series, base_dataset, code_item
from drimbox.kit.dataset.ct import ds_number

AXIAL = ("1", "0", "0", "0", "1", "0")


_FLOAT_VRS = {"FD", "FL"}
_INT_VRS = {"US", "SS", "UL", "SL", "UV", "SV"}


FRAMES = 4
"""Frames of every multi-frame test object: enough to scroll, small enough to stay fast."""

STACK_DIMENSIONS = (
    (0x00209056, 0x00209111, "Stack ID"),
    (0x00209057, 0x00209111, "In-Stack Position Number"),
)
"""Dimension Index: one stack, frames ordered by In-Stack Position (Frame Content Sequence)."""


def _coerce(keyword: str, value: object) -> object:
    """Let callers write every number as text: binary VRs get real numbers."""
    vr = dictionary_VR(keyword)
    if vr in _FLOAT_VRS and isinstance(value, str):
        return float(value)
    if vr in _FLOAT_VRS and isinstance(value, list):
        return [float(v) for v in value]
    if vr in _INT_VRS and isinstance(value, str):
        return int(value)
    return value


def item(**attrs: object) -> Dataset:
    """A sequence item from keyword arguments (numbers may be given as text)."""
    ds = Dataset()
    for key, value in attrs.items():
        setattr(ds, key, _coerce(key, value))
    return ds


def pixel_measures(spacing: float, thickness: float | None = None) -> Dataset:
    macro = item(PixelSpacing=[ds_number(spacing)] * 2)
    if thickness is not None:
        macro.SliceThickness = ds_number(thickness)
    return item(PixelMeasuresSequence=[macro])


def plane_orientation(orientation: Sequence[str] = AXIAL) -> Dataset:
    return item(PlaneOrientationSequence=[item(ImageOrientationPatient=list(orientation))])


def plane_position(position: Sequence[float]) -> Dataset:
    return item(PlanePositionSequence=[item(ImagePositionPatient=[ds_number(v) for v in position])])


def pixel_value_transformation(intercept: str, slope: str, rescale_type: str) -> Dataset:
    return item(
        PixelValueTransformationSequence=[
            item(RescaleIntercept=intercept, RescaleSlope=slope, RescaleType=rescale_type)
        ]
    )


def frame_voi_lut(center: float, width: float) -> Dataset:
    return item(
        FrameVOILUTSequence=[item(WindowCenter=ds_number(center), WindowWidth=ds_number(width))]
    )


def frame_anatomy(code: str, meaning: str, laterality: str = "U") -> Dataset:
    return item(
        FrameAnatomySequence=[
            item(
                AnatomicRegionSequence=[code_item(code, "SCT", meaning)], FrameLaterality=laterality
            )
        ]
    )


def merge(*groups: Dataset) -> Dataset:
    """One functional-groups item holding every macro given."""
    out = Dataset()
    for group in groups:
        for element in group:
            out.add(element)
    return out


def frame_content(
    index: int,
    dimension_values: Sequence[int],
    acquisition: str,
    duration_ms: float = 100.0,
    stack: bool = True,
    temporal: int | None = None,
) -> Dataset:
    """Frame Content macro; ``acquisition`` is the frame's DT. ``stack`` False gives a temporal
    position instead of a stack position (cine runs)."""
    content = item(
        FrameAcquisitionNumber=1,
        FrameReferenceDateTime=acquisition,
        FrameAcquisitionDateTime=acquisition,
        FrameAcquisitionDuration=ds_number(duration_ms),
        DimensionIndexValues=list(dimension_values),
    )
    if stack:
        content.StackID = "1"
        content.InStackPositionNumber = index + 1
    if not stack or temporal is not None:
        content.TemporalPositionIndex = temporal if temporal is not None else index + 1
    return item(FrameContentSequence=[content])


def frame_datetime(series: Series, index: int, step_ms: int = 100) -> str:
    """A DT for frame ``index``: series time plus ``index * step_ms``."""
    base = series.time or series.study.time
    seconds = int(base[:2]) * 3600 + int(base[2:4]) * 60 + int(base[4:6])
    millis = seconds * 1000 + index * step_ms
    s, ms = divmod(millis, 1000)
    return f"{series.study.date}{s // 3600:02d}{s // 60 % 60:02d}{s % 60:02d}.{ms:03d}000"


def enhanced_base(
    sop_class: str,
    sop_uid: str,
    series: Series,
    frames: int,
    dimension_uid: str,
    dimensions: Sequence[tuple[int, int, str]],
) -> Dataset:
    """Common modules of every enhanced IOD; ``dimensions`` = (index pointer, functional group
    pointer, description) per dimension."""
    ds = base_dataset(sop_class, sop_uid, series, 1)
    ds.NumberOfFrames = frames
    ds.AcquisitionDateTime = frame_datetime(series, 0)
    ds.AcquisitionDuration = 100.0 * frames
    ds.AcquisitionContextSequence = []
    ds.DimensionOrganizationSequence = [item(DimensionOrganizationUID=dimension_uid)]
    ds.DimensionIndexSequence = [
        item(
            DimensionOrganizationUID=dimension_uid,
            DimensionIndexPointer=pointer,
            FunctionalGroupPointer=group,
            DimensionDescriptionLabel=label,
        )
        for pointer, group, label in dimensions
    ]
    if len(dimensions) > 1:
        ds.DimensionOrganizationType = "3D"
    return ds
