"""The conformance kit: offline equivalents of the ANS homologation simulators and validators."""
