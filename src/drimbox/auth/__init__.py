"""Who may call us: Pro Santé Connect bearer tokens checked by introspection (RAD-107).

``introspection`` validates ``Authorization: Bearer`` tokens against the PSC introspection endpoint
(RFC 7662) and caches the answers; ``errors`` holds the typed refusals (403 / E204) and the
"cannot decide" failure (502). The OIDC login flows (PSC, FranceConnect+) will live beside them.
"""
