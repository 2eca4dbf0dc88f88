"""TE.SIM-HL7: send HL7 v2 files over MLLP and report each ACK (``drimbox kit hl7 send``)."""
