"""Bedrock: SigV4 signatures over exactly what is sent (botocore's signer), from the pool's
access keys or, with an empty pool and ``ambient_credentials`` on, the AWS
environment/profile chain; a Bedrock API key (a pool entry without ':') goes as
``Authorization: Bearer``.

Imported only when a Bedrock provider is used (``routing.authorizers``): botocore costs
about 30 MiB of memory that a gateway without Bedrock should not pay.
"""

import asyncio
import threading

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials, RefreshableCredentials
from botocore.session import Session as BotocoreSession
from django.views.decorators.debug import sensitive_variables

from routing.adapters import bedrock
from routing.authorizers import CredentialError, SignableRequest
from routing.table import KeyConfig, ProviderConfig

SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


class AmbientAwsCredentials:
    """The AWS default chain (environment, shared files, SSO, container, instance role),
    resolved once per process off the event loop; refreshable credentials are refreshed
    off the loop too when botocore says they are due."""

    def __init__(self) -> None:
        self._credentials: Credentials | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        self._credentials = None

    def _resolve(self) -> Credentials | None:
        with self._lock:
            if self._credentials is None:
                self._credentials = BotocoreSession().get_credentials()
            return self._credentials

    async def frozen(self) -> ReadOnlyCredentials:
        credentials = self._credentials or await asyncio.to_thread(self._resolve)
        if credentials is None:
            raise CredentialError(
                "no AWS credentials: the key pool is empty and the AWS environment/profile chain found none",
                key_fault=False,
            )
        if isinstance(credentials, RefreshableCredentials) and credentials.refresh_needed():
            return await asyncio.to_thread(credentials.get_frozen_credentials)
        return credentials.get_frozen_credentials()


ambient_aws = AmbientAwsCredentials()


@sensitive_variables("credential")
async def _aws_credentials(provider: ProviderConfig, key: KeyConfig) -> ReadOnlyCredentials | str:
    """Access keys to sign with, or a Bedrock API key (str) to send as a bearer token."""
    if not key.secret:
        if not provider.ambient_credentials:
            # Never the host's identity unless the operator chose it (an emptied pool).
            raise CredentialError(
                "no key to sign with, and ambient AWS credentials are off for this provider",
                key_fault=False,
            )
        return await ambient_aws.frozen()
    try:
        credential = bedrock.parse_credential(key.secret)
    except ValueError as exc:
        raise CredentialError(f"unusable Bedrock credential {key.fingerprint}: {exc}") from None
    if credential.api_key is not None:
        return credential.api_key
    return ReadOnlyCredentials(
        credential.access_key_id, credential.secret_access_key, credential.session_token
    )


def sigv4_sign(
    request: SignableRequest, credentials: ReadOnlyCredentials, *, region: str, service: str
) -> dict[str, str]:
    """The SigV4 headers botocore's signer computes for exactly this request."""
    aws_request = AWSRequest(
        method=request.method, url=request.url, headers=dict(request.headers), data=request.body
    )
    SigV4Auth(Credentials(*credentials), service, region).add_auth(aws_request)
    return {name: aws_request.headers[name] for name in SIGNATURE_HEADERS if name in aws_request.headers}


async def sigv4_headers(provider: ProviderConfig, key: KeyConfig, request: SignableRequest) -> dict[str, str]:
    credentials = await _aws_credentials(provider, key)
    if isinstance(credentials, str):
        return {"authorization": f"Bearer {credentials}"}
    return sigv4_sign(request, credentials, region=provider.region, service=bedrock.SIGNING_SERVICE)


def reset() -> None:
    ambient_aws.reset()
