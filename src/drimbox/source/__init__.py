"""Source role: what a producing site's DRIMbox keeps and serves.

Persistence lives here so far: :mod:`drimbox.source.inbox` (the HL7 inbox: a message is
committed before its ACK, then processed exactly once, with retries and crash recovery) and
:mod:`drimbox.source.archive` (every KOS version published or imported, with the series and
instances it references, which RAD-107 and the viewer entry check requests against).
"""
