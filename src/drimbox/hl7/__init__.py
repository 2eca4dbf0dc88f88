"""HL7 v2 intake of the DRIMbox Source: MLLP transport, message parsing, ACK/NACK, report semantics.

The modules are layered so that each can be tested alone: ``mllp`` (framing bytes), ``message``
(HL7 syntax: separators, charset, escapes), ``ack`` (acknowledgements), ``report`` (what an
imaging-report message means for the DRIMbox), ``server``/``client`` (asyncio sockets).
"""
