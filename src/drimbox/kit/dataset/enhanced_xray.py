"""Enhanced X-ray IODs of DB.VI-CS.30: Enhanced XA, Enhanced XRF and Breast Tomosynthesis."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import EnhancedXAImageStorage, EnhancedXRFImageStorage

from drimbox.kit.dataset.common import Series, Spec, derive_uid, set_image_pixel
from drimbox.kit.dataset.multiframe import (
    FRAMES,
    enhanced_base,
    frame_anatomy,
    frame_content,
    frame_datetime,
    frame_voi_lut,
    item,
    merge,
)
from drimbox.kit.dataset.nuclear import patient_orientation

TEMPORAL = ((0x00209128, 0x00209111, "Temporal Position Index"),)


def _run(frames: int, size: int = 128) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = []
    for f in range(frames):
        path = size / 2 + size / 6 * np.sin(xx / 15 + f / 3)
        vessel = np.exp(-((yy - path) ** 2) / 8.0)
        out.append(200 - 150 * vessel * min(1.0, (f + 1) / 2))
    return np.stack(out).astype(np.uint8)


def _xray_enhanced(ds: Dataset, series: Series, seed: int, sop_uid: str) -> Dataset:
    """Enhanced XA/XRF Image, XA/XRF Acquisition and the shared functional groups."""
    ds.ImageType = ["ORIGINAL", "PRIMARY", "SINGLE PLANE", "NONE"]
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.ContentQualification = "PRODUCT"
    ds.PresentationLUTShape = "IDENTITY"
    ds.PlanesInAcquisition = "MONOPLANE"
    ds.PlaneIdentification = "MONOPLANE"
    ds.KVP = "80"
    ds.RadiationSetting = "GR"
    ds.AveragePulseWidth = 10.0
    ds.XRayTubeCurrentInmA = 500.0
    ds.ExposureTimeInms = 10.0
    ds.RadiationMode = "PULSED"
    ds.AcquisitionProtocolName = "CORONARY"
    ds.FocalSpots = ["0.6"]
    ds.AcquiredImageAreaDoseProduct = None
    ds.DistanceReceptorPlaneToDetectorHousing = None
    ds.XRayReceptorType = "IMG_INTENSIFIER"
    ds.IntensifierSize = "230"
    ds.IntensifierActiveShape = "ROUND"
    ds.IntensifierActiveDimensions = [230.0]
    set_image_pixel(ds, _run(FRAMES), bits_stored=8, frames=FRAMES)
    shared = merge(
        frame_anatomy("41801008", "Coronary artery"),
        frame_voi_lut(128, 256),
        item(
            FramePixelDataPropertiesSequence=[
                item(
                    FrameType=["ORIGINAL", "PRIMARY", "SINGLE PLANE", "NONE"],
                    PixelIntensityRelationship="LIN",
                    PixelIntensityRelationshipSign=1,
                    GeometricalProperties="UNIFORM",
                    ImageProcessingApplied="NONE",
                    ImagerPixelSpacing=["0.3", "0.3"],
                )
            ]
        ),
        item(
            CollimatorShapeSequence=[
                item(
                    CollimatorShape="RECTANGULAR",
                    CollimatorLeftVerticalEdge=0,
                    CollimatorRightVerticalEdge=127,
                    CollimatorUpperHorizontalEdge=0,
                    CollimatorLowerHorizontalEdge=127,
                )
            ]
        ),
        item(PatientOrientationInFrameSequence=[item(PatientOrientation=["L", "F"])]),
        item(
            TablePositionSequence=[
                item(
                    TableTopVerticalPosition="0",
                    TableTopLongitudinalPosition="0",
                    TableTopLateralPosition="0",
                    TableHorizontalRotationAngle="0",
                    TableHeadTiltAngle="0",
                    TableCradleTiltAngle="0",
                )
            ]
        ),
        item(FrameAcquisitionSequence=[item(KVP="80", XRayTubeCurrentInmA="500")]),
        item(FieldOfViewSequence=[item(FieldOfViewRotation="0", FieldOfViewHorizontalFlip="NO")]),
        item(FramePixelShiftSequence=[item(SubtractionItemID=1, MaskSubPixelShift=["0", "0"])]),
        item(
            IrradiationEventIdentificationSequence=[
                item(IrradiationEventUID=derive_uid(seed, sop_uid, "irradiation"))
            ]
        ),
    )
    if ds.SOPClassUID == EnhancedXAImageStorage:
        shared = merge(shared, _xa_geometry())
    else:
        shared = merge(shared, item(PositionerPositionSequence=[item(ColumnAngulationPatient="0")]))
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.PerFrameFunctionalGroupsSequence = [
        frame_content(i, [i + 1], frame_datetime(series, i, 67), 67.0, stack=False)
        for i in range(FRAMES)
    ]
    return ds


def _xa_geometry() -> Dataset:
    """C-arm macros only the XA IOD has: positioner angles, geometry, pixel calibration."""
    return merge(
        item(
            PositionerPositionSequence=[
                item(PositionerPrimaryAngle="30", PositionerSecondaryAngle="0")
            ]
        ),
        item(
            XRayGeometrySequence=[
                item(DistanceSourceToIsocenter="750", DistanceSourceToDetector="1100")
            ]
        ),
        item(
            ProjectionPixelCalibrationSequence=[
                item(
                    DistanceObjectToTableTop="100",
                    TableHeight="900",
                    BeamAngle="0",
                    ObjectPixelSpacingInCenterOfBeam=["0.2", "0.2"],
                )
            ]
        ),
    )


def enhanced_xa(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Enhanced XA Image (…1.12.1.1): a 4-frame coronary run."""
    ds = enhanced_base(
        EnhancedXAImageStorage, sop_uid, series, FRAMES, derive_uid(seed, sop_uid, "dim"), TEMPORAL
    )
    ds.CArmPositionerTabletopRelationship = "YES"
    patient_orientation(ds)
    ds.SynchronizationFrameOfReferenceUID = derive_uid(seed, sop_uid, "sync")
    ds.SynchronizationTrigger = "NO TRIGGER"
    ds.AcquisitionTimeSynchronized = "N"
    _xray_enhanced(ds, series, seed, sop_uid)
    ds.PositionerType = "CARM"
    return ds


def enhanced_xrf(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Enhanced XRF Image (…1.12.2.1): a 4-frame fluoroscopy loop."""
    ds = enhanced_base(
        EnhancedXRFImageStorage, sop_uid, series, FRAMES, derive_uid(seed, sop_uid, "dim"), TEMPORAL
    )
    _xray_enhanced(ds, series, seed, sop_uid)
    ds.PositionerType = "COLUMN"
    return ds


SPECS: tuple[Spec, ...] = (
    Spec("ENHANCED_XA", "XA", enhanced_xa, body_part="HEART"),
    # Modality XA, not RF: this dicom3tools release rejects RF in the Enhanced XA/XRF Image
    # module (enumerated XA/XRF there), while XA is valid for both IODs in PS3.3.
    Spec("ENHANCED_XRF", "XA", enhanced_xrf, body_part="ABDOMEN", frame_of_reference=False),
)
