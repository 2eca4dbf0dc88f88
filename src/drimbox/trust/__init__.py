"""Who we trust over the network: TLS contexts (``tls``), the test PKI (``pki``) and, later, the
signed ANS whitelist of DRIMboxes."""
