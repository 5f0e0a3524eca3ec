"""How the API schema (drf-spectacular) describes the portal's own authentication classes: as the DRF classes
they extend, so /api/schema/ names the same two schemes ("tokenAuth", "cookieAuth") as before."""

from drf_spectacular.authentication import SessionScheme, TokenScheme


class ApiTokenScheme(TokenScheme):
    target_class = "accounts.authentication.ApiTokenAuthentication"


class PortalSessionScheme(SessionScheme):
    target_class = "accounts.authentication.SessionAuthentication"
