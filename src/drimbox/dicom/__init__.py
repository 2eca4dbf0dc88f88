"""Pure DICOM, no web: networking (:mod:`drimbox.dicom.dimse`), and later KOS, transfer
syntaxes, multipart, PDI and DICOM JSON."""
