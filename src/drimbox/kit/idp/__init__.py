"""The kit's identity-provider simulator, shaped like Pro Santé Connect (Keycloak realm).

For now it answers RFC 7662 token introspection (``introspect``) for tokens minted through its
admin API (``admin``), with fault modes for the failure tests. The OIDC authorization-code flows
(PSC, FranceConnect+) will be added as further modules mounted by :func:`app.create_app`.
"""

from drimbox.kit.idp.app import IdpSimulator, create_app
from drimbox.kit.idp.store import IssuedToken, Professional, TokenStore

__all__ = ["IdpSimulator", "IssuedToken", "Professional", "TokenStore", "create_app"]
