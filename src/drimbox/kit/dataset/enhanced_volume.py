"""Enhanced volume IODs of DB.VI-CS.30: Enhanced PET, Enhanced US Volume, Breast Tomosynthesis."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import (
    BreastTomosynthesisImageStorage,
    EnhancedPETImageStorage,
    EnhancedUSVolumeStorage,
)

from drimbox.kit.dataset.common import Series, Spec, code_item, derive_uid, set_image_pixel
from drimbox.kit.dataset.multiframe import (
    FRAMES,
    STACK_DIMENSIONS,
    enhanced_base,
    frame_anatomy,
    frame_content,
    frame_datetime,
    item,
    merge,
    pixel_measures,
    plane_orientation,
    plane_position,
)
from drimbox.kit.dataset.phantom import blob_image


def _radiopharmaceutical() -> Dataset:
    return item(
        RadiopharmaceuticalAgentNumber=1,
        RadiopharmaceuticalStartDateTime="20240402090000",
        RadionuclideTotalDose="250000000",
        RadionuclideHalfLife="6586.2",
        RadionuclidePositronFraction="0.97",
        RadionuclideCodeSequence=[code_item("C-111A1", "SRT", "^18^Fluorine")],
        RadiopharmaceuticalCodeSequence=[code_item("C-B1031", "SRT", "Fluorodeoxyglucose F^18^")],
        AdministrationRouteCodeSequence=[code_item("G-D101", "SRT", "Intravenous route")],
    )


def enhanced_pet(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Enhanced PET Image (…1.130): 4 transaxial frames of 64×64, Bq/ml."""
    ds = enhanced_base(
        EnhancedPETImageStorage,
        sop_uid,
        series,
        FRAMES,
        derive_uid(seed, sop_uid, "dim"),
        STACK_DIMENSIONS,
    )
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    ds.PatientPosition = "HFS"
    ds.ContentQualification = "PRODUCT"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    ds.AcquisitionNumber = 1
    ds.PixelPresentation = "MONOCHROME"
    ds.VolumetricProperties = "VOLUME"
    ds.VolumeBasedCalculationTechnique = "NONE"
    ds.CountsSource = "EMISSION"
    ds.DecayCorrected = "YES"
    ds.AttenuationCorrected = "YES"
    ds.ScatterCorrected = "YES"
    ds.DeadTimeCorrected = "YES"
    ds.GantryMotionCorrected = "NO"
    ds.PatientMotionCorrected = "NO"
    ds.CountLossNormalizationCorrected = "NO"
    ds.RandomsCorrected = "YES"
    ds.NonUniformRadialSamplingCorrected = "NO"
    ds.SensitivityCalibrated = "YES"
    ds.DetectorNormalizationCorrection = "YES"
    ds.RandomsCorrectionMethod = "DLYD"
    ds.AttenuationCorrectionSource = "CT"
    ds.ScatterCorrectionMethod = "MODEL"
    ds.DecayCorrectionDateTime = "20240402090000"
    ds.AcquisitionStartCondition = "MANU"
    ds.AcquisitionTerminationCondition = "TIME"
    ds.TypeOfDetectorMotion = "STEP AND SHOOT"
    ds.TableMotion = "STATIC"
    ds.TimeOfFlightInformationUsed = "FALSE"
    ds.CollimatorType = "NONE"
    ds.AxialDetectorDimension = 220.0
    ds.TransverseDetectorSeparation = 800.0
    ds.CoincidenceWindowWidth = 4.5
    ds.TerminationTimeThreshold = 120.0
    ds.EnergyWindowRangeSequence = [
        item(EnergyWindowLowerLimit="435", EnergyWindowUpperLimit="650")
    ]
    ds.AttenuationCorrectionTemporalRelationship = "CONCURRENT"
    ds.ViewCodeSequence = [code_item("R-10515", "SRT", "transverse")]
    ds.ViewCodeSequence[0].ViewModifierCodeSequence = []
    ds.RadiopharmaceuticalInformationSequence = [_radiopharmaceutical()]
    stack = np.stack(
        [blob_image(64, 64, seed, 20 + i, peak=30000.0, blobs=4) for i in range(FRAMES)]
    )
    set_image_pixel(ds, stack.astype(np.uint16), bits_stored=16, frames=FRAMES)
    frame_type = item(
        FrameType=["ORIGINAL", "PRIMARY", "VOLUME", "NONE"],
        PixelPresentation="MONOCHROME",
        VolumetricProperties="VOLUME",
        VolumeBasedCalculationTechnique="NONE",
    )
    shared = merge(
        pixel_measures(6.0, 6.0),
        plane_orientation(),
        frame_anatomy("38266002", "Entire body"),
        item(
            PixelValueTransformationSequence=[
                item(RescaleIntercept="0", RescaleSlope="0.5", RescaleType="BQML")
            ]
        ),
        item(FrameVOILUTSequence=[item(WindowCenter="7500", WindowWidth="15000")]),
        item(PETFrameTypeSequence=[frame_type]),
        item(
            PETFrameAcquisitionSequence=[
                item(
                    TableHeight="150",
                    GantryDetectorTilt="0",
                    GantryDetectorSlew="0",
                    DataCollectionDiameter="700",
                )
            ]
        ),
        item(PETDetectorMotionDetailsSequence=[item(RotationDirection="CW", RevolutionTime="1")]),
        item(
            PETPositionSequence=[
                item(
                    TablePosition="-100",
                    ReconstructionTargetCenterPatient=["0", "0", "-109"],
                    DataCollectionCenterPatient=["0", "0", "-109"],
                )
            ]
        ),
        item(
            PETReconstructionSequence=[
                item(
                    ReconstructionType="3D",
                    ReconstructionAlgorithm="OSEM",
                    IterativeReconstructionMethod="YES",
                    NumberOfIterations=3,
                    NumberOfSubsets=21,
                    ReconstructionDiameter="384",
                )
            ]
        ),
        item(
            PETFrameCorrectionFactorsSequence=[
                item(
                    PrimaryPromptsCountsAccumulated=1000000,
                    SliceSensitivityFactor="1",
                    DecayFactor="1",
                    ScatterFractionFactor="0.3",
                    DeadTimeFactor="1",
                )
            ]
        ),
        item(RadiopharmaceuticalUsageSequence=[item(RadiopharmaceuticalAgentNumber=1)]),
        item(
            RealWorldValueMappingSequence=[
                item(
                    RealWorldValueFirstValueMapped=0,
                    RealWorldValueLastValueMapped=65535,
                    RealWorldValueIntercept=0.0,
                    RealWorldValueSlope=0.5,
                    LUTLabel="BQML",
                    LUTExplanation="Activity concentration",
                    MeasurementUnitsCodeSequence=[
                        code_item("Bq/ml", "UCUM", "Becquerels/milliliter")
                    ],
                )
            ]
        ),
    )
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.PerFrameFunctionalGroupsSequence = [
        merge(
            frame_content(i, [1, i + 1], frame_datetime(series, i, 120000), 120000.0, temporal=1),
            plane_position((-189.0, -189.0, -100.0 - 6.0 * i)),
        )
        for i in range(FRAMES)
    ]
    return ds


def enhanced_us_volume(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Enhanced US Volume (…1.6.2): a 4-slice 3D B-mode volume, 8-bit grey."""
    ds = enhanced_base(
        EnhancedUSVolumeStorage,
        sop_uid,
        series,
        FRAMES,
        derive_uid(seed, sop_uid, "dim"),
        STACK_DIMENSIONS,
    )
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    ds.PatientPosition = "HFS"
    ds.ContentQualification = "PRODUCT"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    ds.PatientOrientation = ""
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.AnatomicRegionSequence = [code_item("818981001", "SCT", "Abdomen")]
    ds.ViewCodeSequence = [code_item("R-10515", "SRT", "transverse")]
    ds.ViewCodeSequence[0].ViewModifierCodeSequence = []
    ds.VolumeFrameOfReferenceUID = derive_uid(seed, sop_uid, "volume-for")
    ds.UltrasoundAcquisitionGeometry = "APEX"
    ds.ApexPosition = [0.0, 0.0, 0.0]
    ds.VolumeToTransducerMappingMatrix = [1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0]
    ds.SynchronizationFrameOfReferenceUID = derive_uid(seed, sop_uid, "sync")
    ds.SynchronizationTrigger = "NO TRIGGER"
    ds.AcquisitionTimeSynchronized = "N"
    ds.PositionMeasuringDeviceUsed = "RIGID"
    ds.TransducerScanPatternCodeSequence = [code_item("125241", "DCM", "Plane scan pattern")]
    ds.TransducerGeometryCodeSequence = [
        code_item("125252", "DCM", "Linear ultrasound transducer geometry")
    ]
    ds.TransducerBeamSteeringCodeSequence = [code_item("125257", "DCM", "Fixed beam direction")]
    ds.TransducerApplicationCodeSequence = [code_item("125261", "DCM", "External Transducer")]
    ds.ProcessingFunction = "NONE"
    ds.MechanicalIndex = "0.5"
    ds.BoneThermalIndex = "0.2"
    ds.CranialThermalIndex = "0.2"
    ds.SoftTissueThermalIndex = "0.2"
    ds.DepthsOfFocus = [40.0]
    ds.DepthOfScanField = 80
    stack = np.stack([blob_image(96, 96, seed, 40 + i, peak=200.0, blobs=3) for i in range(FRAMES)])
    set_image_pixel(ds, np.clip(stack, 0, 255).astype(np.uint8), bits_stored=8, frames=FRAMES)
    frame_type = item(
        FrameType=["ORIGINAL", "PRIMARY", "VOLUME", "NONE"],
        VolumetricProperties="VOLUME",
        VolumeBasedCalculationTechnique="NONE",
    )
    shared = merge(
        pixel_measures(0.5, 0.5),
        item(PlaneOrientationVolumeSequence=[item(ImageOrientationVolume=[1.0, 0, 0, 0, 1.0, 0])]),
        item(FrameVOILUTSequence=[item(WindowCenter="128", WindowWidth="256")]),
        item(USImageDescriptionSequence=[frame_type]),
        item(ImageDataTypeSequence=[item(DataType="TISSUE_INTENSITY", AliasedDataType="NO")]),
    )
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.PerFrameFunctionalGroupsSequence = [
        merge(
            frame_content(i, [1, i + 1], frame_datetime(series, 0), 100.0),
            item(PlanePositionVolumeSequence=[item(ImagePositionVolume=[0.0, 0.0, 0.5 * i])]),
        )
        for i in range(FRAMES)
    ]
    return ds


def breast_tomosynthesis(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Breast Tomosynthesis Image (…1.13.1.3): 4 reconstructed slices of a left CC view."""
    ds = enhanced_base(
        BreastTomosynthesisImageStorage,
        sop_uid,
        series,
        FRAMES,
        derive_uid(seed, sop_uid, "dim"),
        STACK_DIMENSIONS,
    )
    ds.ImageType = ["DERIVED", "PRIMARY", "TOMOSYNTHESIS", "NONE"]
    ds.ContentQualification = "PRODUCT"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    del ds.AcquisitionDateTime, ds.AcquisitionDuration
    ds.PixelPresentation = "MONOCHROME"
    ds.VolumetricProperties = "VOLUME"
    ds.VolumeBasedCalculationTechnique = "NONE"
    ds.ViewCodeSequence = [code_item("399162004", "SRT", "cranio-caudal")]
    ds.ViewCodeSequence[0].ViewModifierCodeSequence = []
    ds.BreastImplantPresent = "NO"
    ds.PartialView = "NO"
    stack = np.stack(
        [blob_image(128, 96, seed, 60 + i, peak=3000.0, blobs=6) for i in range(FRAMES)]
    )
    set_image_pixel(ds, np.clip(stack, 0, 4095).astype(np.uint16), bits_stored=12, frames=FRAMES)
    frame_type = item(
        FrameType=["DERIVED", "PRIMARY", "TOMOSYNTHESIS", "NONE"],
        PixelPresentation="MONOCHROME",
        VolumetricProperties="VOLUME",
        VolumeBasedCalculationTechnique="NONE",
    )
    shared = merge(
        pixel_measures(0.1, 1.0),
        plane_orientation(("0", "1", "0", "0", "0", "-1")),
        frame_anatomy("76752008", "Breast", "L"),
        item(
            PixelValueTransformationSequence=[
                item(RescaleIntercept="0", RescaleSlope="1", RescaleType="US")
            ]
        ),
        item(FrameVOILUTSequence=[item(WindowCenter="1500", WindowWidth="3000")]),
    )
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.PerFrameFunctionalGroupsSequence = [
        merge(
            frame_content(i, [1, i + 1], frame_datetime(series, 0), 100.0),
            plane_position((10.0 * i, -6.4, 4.8)),
            item(XRay3DFrameTypeSequence=[frame_type]),
        )
        for i in range(FRAMES)
    ]
    return ds


SPECS: tuple[Spec, ...] = (
    Spec("ENHANCED_PET", "PT", enhanced_pet, body_part="WHOLEBODY"),
    Spec("ENHANCED_US_VOLUME", "US", enhanced_us_volume, body_part="ABDOMEN"),
    Spec("BREAST_TOMOSYNTHESIS", "MG", breast_tomosynthesis, body_part="BREAST"),
)
