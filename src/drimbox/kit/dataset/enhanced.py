"""Enhanced multi-frame IODs of DB.VI-CS.30: Enhanced CT and Enhanced MR (+ Color).

Each builder lays its frames out as one stack (dimensions Stack ID / In-Stack Position), with the
geometry in Plane Position / Orientation functional groups so that a viewer can rebuild volumes.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import EnhancedCTImageStorage, EnhancedMRColorImageStorage, EnhancedMRImageStorage

from drimbox.kit.dataset.common import Series, Spec, code_item, derive_uid, set_image_pixel
from drimbox.kit.dataset.icc import srgb_like_profile
from drimbox.kit.dataset.multiframe import (
    FRAMES,
    STACK_DIMENSIONS,
    enhanced_base,
    frame_anatomy,
    frame_content,
    frame_datetime,
    frame_voi_lut,
    item,
    merge,
    pixel_measures,
    pixel_value_transformation,
    plane_orientation,
    plane_position,
)
from drimbox.kit.dataset.phantom import blob_image, color_image, head_ct_slice, hu_to_stored


def _stack(
    ds: Dataset, series: Series, shared: Dataset, frames: int, spacing: float, extra: Dataset | None
) -> None:
    """Shared group plus one per-frame group (Frame Content, Plane Position) per frame."""
    ds.SharedFunctionalGroupsSequence = [shared]
    corner = -(int(ds.Columns) * spacing) / 2
    ds.PerFrameFunctionalGroupsSequence = [
        merge(
            frame_content(i, [1, i + 1], frame_datetime(series, i)),
            plane_position((corner, corner, -10.0 * i)),
            *([extra] if extra is not None else []),
        )
        for i in range(frames)
    ]


def _common_image(ds: Dataset, image_type: list[str]) -> None:
    ds.ImageType = image_type
    ds.PixelPresentation = "MONOCHROME"
    ds.VolumetricProperties = "VOLUME"
    ds.VolumeBasedCalculationTechnique = "NONE"
    ds.ContentQualification = "PRODUCT"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    ds.AcquisitionNumber = 1


def enhanced_ct(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Enhanced CT Image (…1.2.1): a 4-frame head volume."""
    ds = enhanced_base(
        EnhancedCTImageStorage,
        sop_uid,
        series,
        FRAMES,
        derive_uid(seed, sop_uid, "dim"),
        STACK_DIMENSIONS,
    )
    _common_image(ds, ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"])
    ds.PatientPosition = "HFS"
    stack = np.stack([hu_to_stored(head_ct_slice(3 + i, 10, seed, 128)) for i in range(FRAMES)])
    set_image_pixel(ds, stack, bits_stored=16, frames=FRAMES)
    frame_type = item(
        FrameType=["ORIGINAL", "PRIMARY", "VOLUME", "NONE"],
        PixelPresentation="MONOCHROME",
        VolumetricProperties="VOLUME",
        VolumeBasedCalculationTechnique="NONE",
    )
    shared = merge(
        pixel_measures(1.8, 10.0),
        plane_orientation(),
        frame_anatomy("69536005", "Head"),
        pixel_value_transformation("-1024", "1", "HU"),
        frame_voi_lut(40, 80),
        item(CTImageFrameTypeSequence=[frame_type]),
        item(
            CTAcquisitionTypeSequence=[
                item(AcquisitionType="SPIRAL", ConstantVolumeFlag="NO", FluoroscopyFlag="NO")
            ]
        ),
        item(
            CTAcquisitionDetailsSequence=[
                item(
                    DataCollectionDiameter="250",
                    GantryDetectorTilt="0",
                    TableHeight="150",
                    RotationDirection="CW",
                    RevolutionTime="1",
                    SingleCollimationWidth="0.625",
                    TotalCollimationWidth="40",
                )
            ]
        ),
        item(
            CTTableDynamicsSequence=[
                item(TableSpeed="40", TableFeedPerRotation="40", SpiralPitchFactor="1")
            ]
        ),
        item(
            CTPositionSequence=[
                item(
                    TablePosition="-100",
                    ReconstructionTargetCenterPatient=["0", "0", "-15"],
                    DataCollectionCenterPatient=["0", "0", "-15"],
                )
            ]
        ),
        item(
            CTGeometrySequence=[
                item(DistanceSourceToDetector="1040", DistanceSourceToDataCollectionCenter="570")
            ]
        ),
        item(
            CTReconstructionSequence=[
                item(
                    ReconstructionAlgorithm="FILTER_BACK_PROJ",
                    ConvolutionKernel="STANDARD",
                    ConvolutionKernelGroup="BRAIN",
                    ReconstructionDiameter="230.4",
                    ReconstructionPixelSpacing=["1.8", "1.8"],
                    ReconstructionAngle="360",
                    ImageFilter="NONE",
                )
            ]
        ),
        item(
            CTExposureSequence=[
                item(
                    ExposureTimeInms=1000.0,
                    XRayTubeCurrentInmA=200.0,
                    ExposureInmAs=200.0,
                    ExposureModulationType="NONE",
                    CTDIvol=50.0,
                    CTDIPhantomTypeCodeSequence=[
                        code_item("113691", "DCM", "IEC Head Dosimetry Phantom")
                    ],
                )
            ]
        ),
        item(
            CTXRayDetailsSequence=[
                item(KVP="120", FocalSpots=["0.7"], FilterType="WEDGE", FilterMaterial=["ALUMINUM"])
            ]
        ),
        item(
            IrradiationEventIdentificationSequence=[
                item(IrradiationEventUID=derive_uid(seed, sop_uid, "irradiation"))
            ]
        ),
    )
    _stack(ds, series, shared, FRAMES, 1.8, None)
    return ds


def _mr_common(ds: Dataset, pixel_presentation: str) -> Dataset:
    _common_image(ds, ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"])
    ds.PixelPresentation = pixel_presentation
    ds.ComplexImageComponent = "MAGNITUDE"
    ds.AcquisitionContrast = "T1"
    ds.MagneticFieldStrength = "1.5"
    ds.ResonantNucleus = "1H"
    ds.KSpaceFiltering = "NONE"
    ds.ApplicableSafetyStandardAgency = "IEC"
    ds.PulseSequenceName = "SE"
    ds.EchoPulseSequence = "SPIN"
    ds.MultipleSpinEcho = "NO"
    ds.MultiPlanarExcitation = "NO"
    ds.PhaseContrast = "NO"
    ds.TimeOfFlightContrast = "NO"
    ds.SteadyStatePulseSequence = "NONE"
    ds.EchoPlanarPulseSequence = "NO"
    ds.SaturationRecovery = "NO"
    ds.SpectrallySelectedSuppression = "NONE"
    ds.OversamplingPhase = "NONE"
    ds.GeometryOfKSpaceTraversal = "RECTILINEAR"
    ds.SegmentedKSpaceTraversal = "SINGLE"
    ds.RectilinearPhaseEncodeReordering = "LINEAR"
    ds.NumberOfKSpaceTrajectories = 1
    ds.MRAcquisitionType = "2D"
    ds.PatientPosition = "FFS"
    return item(
        MRImageFrameTypeSequence=[
            item(
                FrameType=["ORIGINAL", "PRIMARY", "VOLUME", "NONE"],
                PixelPresentation=pixel_presentation,
                VolumetricProperties="VOLUME",
                VolumeBasedCalculationTechnique="NONE",
                ComplexImageComponent="MAGNITUDE",
                AcquisitionContrast="T1",
            )
        ],
        MRTimingAndRelatedParametersSequence=[
            item(
                RepetitionTime="500",
                FlipAngle="90",
                EchoTrainLength="1",
                RFEchoTrainLength=1,
                GradientEchoTrainLength=0,
                SpecificAbsorptionRateSequence=[
                    item(
                        SpecificAbsorptionRateDefinition="IEC_WHOLE_BODY",
                        SpecificAbsorptionRateValue="0.5",
                    )
                ],
                GradientOutputType="DB_DT",
                GradientOutput="10",
                OperatingModeSequence=[
                    item(OperatingModeType="STATIC FIELD", OperatingMode="IEC_NORMAL")
                ],
            )
        ],
        MRFOVGeometrySequence=[
            item(
                InPlanePhaseEncodingDirection="ROW",
                MRAcquisitionFrequencyEncodingSteps=128,
                MRAcquisitionPhaseEncodingStepsInPlane=128,
                PercentSampling="100",
                PercentPhaseFieldOfView="100",
            )
        ],
        MREchoSequence=[item(EffectiveEchoTime="15")],
        MRModifierSequence=[
            item(
                InversionRecovery="NO",
                FlowCompensation="NONE",
                Spoiling="NONE",
                T2Preparation="NO",
                SpectrallySelectedExcitation="NONE",
                SpatialPresaturation="NONE",
                PartialFourier="NO",
                ParallelAcquisition="NO",
            )
        ],
        MRImagingModifierSequence=[
            item(
                MagnetizationTransfer="NONE",
                BloodSignalNulling="NO",
                Tagging="NONE",
                TransmitterFrequency=63.9,
                PixelBandwidth="130",
            )
        ],
        MRReceiveCoilSequence=[
            item(
                ReceiveCoilName="KNEE",
                ReceiveCoilType="VOLUME",
                ReceiveCoilManufacturerName="",
                QuadratureReceiveCoil="YES",
            )
        ],
        MRTransmitCoilSequence=[
            item(TransmitCoilName="BODY", TransmitCoilType="BODY", TransmitCoilManufacturerName="")
        ],
        MRAveragesSequence=[item(NumberOfAverages="1")],
    )


def enhanced_mr(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Enhanced MR Image (…1.4.1): 4 frames of 128×128, 12 bits."""
    ds = enhanced_base(
        EnhancedMRImageStorage,
        sop_uid,
        series,
        FRAMES,
        derive_uid(seed, sop_uid, "dim"),
        STACK_DIMENSIONS,
    )
    mr_groups = _mr_common(ds, "MONOCHROME")
    stack = np.stack([blob_image(128, 128, seed, i, peak=1500.0) for i in range(FRAMES)])
    set_image_pixel(ds, stack.astype(np.uint16), bits_stored=12, frames=FRAMES)
    shared = merge(
        pixel_measures(1.2, 4.0),
        plane_orientation(),
        frame_anatomy("72696002", "Knee", "R"),
        pixel_value_transformation("0", "1", "US"),
        frame_voi_lut(600, 1600),
        mr_groups,
    )
    _stack(ds, series, shared, FRAMES, 1.2, None)
    return ds


def enhanced_mr_color(series: Series, sop_uid: str, seed: int) -> Dataset:
    """Enhanced MR Color Image (…1.4.3): RGB frames (e.g. a colour-mapped parameter map)."""
    ds = enhanced_base(
        EnhancedMRColorImageStorage,
        sop_uid,
        series,
        FRAMES,
        derive_uid(seed, sop_uid, "dim"),
        STACK_DIMENSIONS,
    )
    mr_groups = _mr_common(ds, "TRUE_COLOR")
    ds.ICCProfile = srgb_like_profile()
    stack = np.stack([np.roll(color_image(96, 96), 6 * i, axis=0) for i in range(FRAMES)])
    set_image_pixel(ds, stack, bits_stored=8, photometric="RGB", planar=0, frames=FRAMES)
    shared = merge(
        pixel_measures(1.5, 4.0),
        plane_orientation(),
        frame_anatomy("72696002", "Knee", "R"),
        mr_groups,
    )
    _stack(ds, series, shared, FRAMES, 1.5, None)
    return ds


#: The enhanced entries of the modalities catalogue.
SPECS: tuple[Spec, ...] = (
    Spec("ENHANCED_CT", "CT", enhanced_ct, body_part="HEAD"),
    Spec("ENHANCED_MR", "MR", enhanced_mr, body_part="KNEE"),
    Spec("ENHANCED_MR_COLOR", "MR", enhanced_mr_color, body_part="KNEE"),
)
