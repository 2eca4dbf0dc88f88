"""The test helper that reads XML dumps of DICOM datasets (dcm2xml and PS3.19 native)."""

from __future__ import annotations

from support.dicom_xml import dicom_xml_to_dataset

NATIVE = """
<NativeDicomModel xml:space="preserve">
  <DicomAttribute tag="00100010" vr="PN" keyword="PatientName">
    <PersonName number="1"><Alphabetic>
      <FamilyName>PAT-TROIS</FamilyName><GivenName>DOMINIQUE</GivenName>
    </Alphabetic></PersonName>
  </DicomAttribute>
  <DicomAttribute tag="00101001" vr="PN" keyword="OtherPatientNames">
    <PersonName number="1"><Alphabetic><GivenName>DOMINIQUE</GivenName></Alphabetic></PersonName>
    <PersonName number="2"><Alphabetic><FamilyName>PAT-TROIS</FamilyName></Alphabetic></PersonName>
  </DicomAttribute>
  <DicomAttribute tag="00200011" vr="IS" keyword="SeriesNumber"><Value number="1">59</Value>
  </DicomAttribute>
  <DicomAttribute tag="00081115" vr="SQ" keyword="ReferencedSeriesSequence">
    <Item number="1">
      <DicomAttribute tag="0020000E" vr="UI"><Value number="1">1.2.3</Value></DicomAttribute>
      <DicomAttribute tag="00081190" vr="UR"><Value number="1">https://h/x</Value>
      </DicomAttribute>
    </Item>
  </DicomAttribute>
  <DicomAttribute tag="00280010" vr="US"><Value number="1">512</Value></DicomAttribute>
  <DicomAttribute tag="00080060" vr="CS"/>
</NativeDicomModel>
"""

DCMTK = """
<file-format><data-set xfer="1.2.840.10008.1.2.1">
<element tag="0010,1001" vr="PN" vm="2" len="30">^DOMINIQUE\\PAT-TROIS^DOMINIQUE</element>
<element tag="0008,0050" vr="SH" vm="0" len="0"></element>
<element tag="0028,0030" vr="DS" vm="2" len="8">0.5\\0.5</element>
<element tag="7fe0,0010" vr="OW" vm="1" len="4" binary="hidden"></element>
<sequence tag="0040,a375" vr="SQ" card="1">
<item card="1"><element tag="0020,000d" vr="UI" vm="1" len="6">1.2.34</element></item>
</sequence>
</data-set></file-format>
"""


def test_native_dicom_model() -> None:
    ds = dicom_xml_to_dataset(NATIVE)
    assert str(ds.PatientName) == "PAT-TROIS^DOMINIQUE"
    assert [str(v) for v in ds.OtherPatientNames] == ["^DOMINIQUE", "PAT-TROIS"]
    assert ds.SeriesNumber == 59
    assert ds.ReferencedSeriesSequence[0].RetrieveURL == "https://h/x"
    assert ds.Rows == 512
    assert ds.Modality in (None, "")


def test_dcmtk_layout() -> None:
    ds = dicom_xml_to_dataset(DCMTK)
    assert [str(v) for v in ds.OtherPatientNames] == ["^DOMINIQUE", "PAT-TROIS^DOMINIQUE"]
    assert ds.AccessionNumber in (None, "")
    assert [float(v) for v in ds.PixelSpacing] == [0.5, 0.5]
    assert "PixelData" not in ds
    assert ds.CurrentRequestedProcedureEvidenceSequence[0].StudyInstanceUID == "1.2.34"
