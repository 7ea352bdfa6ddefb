"""DRF authentication by ``Authorization: Bearer <token>`` (or ``Token <token>``)."""

from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from apitokens.models import ApiToken
from apitokens.services import api_token_find

SCHEMES = frozenset({"bearer", "token"})


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Staff tokens from ``manage.py create_api_token``. A missing header is anonymous (401
    from the permission check); a wrong or inactive user's token is 401 here."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        scheme, _, token = (
            authentication.get_authorization_header(request).decode(errors="replace").partition(" ")
        )
        if scheme.lower() not in SCHEMES:
            return None
        token = token.strip()
        if not token or " " in token:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: send 'Authorization: Bearer <token>'."
            )
        found = api_token_find(token)
        if found is None or not found.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        return found.user, found

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="vandamme"'
