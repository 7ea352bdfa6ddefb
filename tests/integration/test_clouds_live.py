"""Bedrock, Vertex and a keyless Ollama configured from the environment alone, behind a real
gateway process (daphne), with the anthropic SDK as the client and cloud mocks on 127.0.0.1."""

import json
from collections.abc import Iterator

import anthropic
import pytest

from tests.cloud_mocks import CloudMock, service_account_key
from tests.integration.gateway import GatewayProcess
from tests.mock_upstream import MockUpstream

pytestmark = pytest.mark.integration

BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
VERTEX_MODEL = "claude-sonnet-4-5@20250929"
HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def cloud() -> Iterator[CloudMock]:
    with CloudMock() as mock:
        yield mock


@pytest.fixture(scope="module")
def local_llm() -> Iterator[MockUpstream]:
    with MockUpstream() as mock:
        yield mock


@pytest.fixture(scope="module")
def gateway(
    cloud: CloudMock, local_llm: MockUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    info, public = service_account_key(f"{cloud.origin}/token")
    cloud.state.public_keys[info["client_email"]] = public
    env = {
        "BEDROCK_API_KEY": "AKIDEXAMPLE:wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        "BEDROCK_BASE_URL": cloud.origin,
        "BEDROCK_REGION": "us-west-2",
        "VERTEX_API_KEY": json.dumps(info, indent=2),
        "VERTEX_BASE_URL": cloud.origin,
        "VERTEX_REGION": "us-east5",
        "OLLAMA_BASE_URL": local_llm.base_url,
        "VDM_DEFAULT_PROVIDER": "bedrock",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with GatewayProcess(tmp_path_factory.mktemp("clouds"), env) as process:
        yield process


@pytest.fixture
def client(gateway: GatewayProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="client", base_url=gateway.base_url, max_retries=0)


@pytest.mark.parametrize("model", [BEDROCK_MODEL, f"vertex:{VERTEX_MODEL}"])
def test_create_and_stream(client: anthropic.Anthropic, model: str) -> None:
    message = client.messages.create(model=model, max_tokens=20, messages=HELLO)
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from the cloud mock"
    with client.messages.stream(model=model, max_tokens=20, messages=HELLO) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "text"
    assert final.content[0].text == "Hello from the cloud"


def test_requests_reached_the_clouds_signed_and_with_a_token(
    cloud: CloudMock, client: anthropic.Anthropic
) -> None:
    client.messages.create(model=BEDROCK_MODEL, max_tokens=5, messages=HELLO)
    client.messages.create(model=f"vertex:{VERTEX_MODEL}", max_tokens=5, messages=HELLO)
    bedrock = [r for r in cloud.requests if r.path.startswith("/model/")]
    vertex = [r for r in cloud.requests if r.path.startswith("/v1/projects/demo-project/")]
    assert bedrock[-1].headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert vertex[-1].headers["authorization"].startswith("Bearer ya29.token-")


def test_keyless_ollama_from_its_base_url_alone(local_llm: MockUpstream, client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="ollama:llama3.2:3b", max_tokens=20, messages=HELLO)
    assert message.content[0].type == "text"
    sent = local_llm.requests()[-1]
    assert sent["json"]["model"] == "llama3.2:3b"
    assert "authorization" not in sent["headers"]
