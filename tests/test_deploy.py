"""The deploy artifacts: the Kubernetes manifests pass the API schemas (kubernetes-validate,
offline), and the Dockerfile, the compose file, HAProxy's configuration and the manifests
agree with each other and with the drain."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.gateway import REPO_ROOT
from tests.test_settings_and_commands import _import_settings

KUBERNETES = REPO_ROOT / "deploy" / "kubernetes"
MANIFESTS = sorted(KUBERNETES.glob("*.yaml"))
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
HAPROXY = (REPO_ROOT / "deploy" / "haproxy" / "haproxy.cfg").read_text()
DRAIN_SECONDS = 30  # settings.VANDAMME_DRAIN_SECONDS's default


def _validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "kubernetes_validate", "--strict", "--no-warn"]
    return subprocess.run(
        [*command, *map(str, paths)], capture_output=True, text=True, timeout=120, check=False
    )


def _documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((KUBERNETES / name).read_text()) if doc]


def test_the_manifests_pass_the_kubernetes_schemas() -> None:
    kinds = {doc["kind"] for path in MANIFESTS for doc in _documents(path.name)}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job"} <= kinds
    result = _validate(*MANIFESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_rejects_a_wrong_manifest(tmp_path: Path) -> None:
    deployment = _documents("deployment.yaml")[0]
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 45  # a misspelt field
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(deployment))
    assert _validate(broken).returncode != 0


def test_the_deployment_probes_and_drain_match_the_gateway() -> None:
    pod = _documents("deployment.yaml")[0]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["args"][:2] == ["serve", "--skip-load"]
    env = {item["name"]: item["value"] for item in container["env"]}
    drain = float(env["VANDAMME_DRAIN_SECONDS"])
    pre_stop = float(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > pre_stop + drain
    assert [ref["secretRef"]["name"] for ref in container["envFrom"]] == ["vandamme-secrets"]
    job = _documents("migrate-job.yaml")[0]["spec"]["template"]["spec"]["containers"][0]
    assert "manage.py migrate" in job["args"][0]
    assert "manage.py load_config" in job["args"][0]


def test_the_dockerfile_builds_dependencies_runs_unprivileged_and_forwards_signals() -> None:
    stages = re.findall(r"^FROM \S+(?: AS (\w+))?$", DOCKERFILE, re.M)
    assert len(stages) >= 2  # multi-stage
    runtime = DOCKERFILE.split("\nFROM ")[-1]
    assert "pip install" not in runtime  # dependencies come from the build stage
    assert "COPY --from=build /opt/venv /opt/venv" in runtime
    assert re.search(r"^USER (?!root|0\b)\S+$", runtime, re.M)
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", runtime, re.M)
    assert entrypoint is not None
    assert entrypoint.group(1).startswith('["tini", "--"')
    assert re.search(r"^CMD \[.*\]$", runtime, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*CMD .*/health", runtime, re.M)


def test_the_usage_spool_is_writable_by_the_gateway_and_its_own_per_container() -> None:
    """Usage a drain could not write waits in VANDAMME_USAGE_SPOOL_DIR: the unprivileged
    user must be able to write there, and each container (or pod) gets its own."""
    runtime = DOCKERFILE.split("\nFROM ")[-1]
    spool = re.search(r"VANDAMME_USAGE_SPOOL_DIR=(\S+)", runtime)
    assert spool is not None
    user = re.search(r"^USER (\S+)$", runtime, re.M)
    assert user is not None
    assert f"chown {user.group(1)} {spool.group(1)}" in runtime
    assert f'VOLUME ["{spool.group(1)}"]' in runtime
    pod = _documents("deployment.yaml")[0]["spec"]["template"]["spec"]
    mounts = {mount["mountPath"]: mount["name"] for mount in pod["containers"][0]["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes[mounts[spool.group(1)]]


def test_compose_runs_a_fleet_behind_haproxy_with_secrets_from_the_env_file() -> None:
    services = COMPOSE["services"]
    gateway, migrate = services["gateway"], services["migrate"]
    assert gateway["command"][:2] == ["serve", "--skip-load"]
    assert "ports" not in gateway  # no fixed host port per replica
    assert gateway["deploy"]["replicas"] >= 2
    assert int(gateway["stop_grace_period"].rstrip("s")) > DRAIN_SECONDS
    assert "migrate" in migrate["command"][0]
    assert "load_config" in migrate["command"][0]
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "haproxy.cfg" in services["haproxy"]["volumes"][0]
    assert "--save" in services["redis"]["command"]  # persistence is a decision, not a default
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"(PASSWORD|SECRET|KEY)\w*: (?!\$\{)\S", text)  # no literal secrets
    assert "${PROXY_API_KEY?" in text  # a gateway key unless an empty one is written on purpose


@pytest.mark.parametrize("line", ["option httpchk GET /ready", "retry-on conn-failure", "option redispatch"])
def test_haproxy_checks_readiness_and_retries_refused_connections(line: str) -> None:
    assert line in HAPROXY


class ComposeRefused(Exception):
    """What `docker compose` stops with when a required variable is missing."""


# ${NAME}, ${NAME-default}, ${NAME:-default}, ${NAME?error}, ${NAME:?error}: compose's forms.
COMPOSE_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?)([?-])([^}]*))?\}")


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable interpolation, for the forms docker-compose.yml uses."""

    def value(match: re.Match[str]) -> str:
        name, colon, kind, argument = match.groups()
        missing = name not in env or (colon == ":" and env[name] == "")
        if not missing:
            return env[name]
        if kind == "?":
            raise ComposeRefused(f"{name}: {argument}")
        return argument or ""

    return COMPOSE_VARIABLE.sub(value, text)


def _env_file(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if re.match(r"^[A-Z][A-Z0-9_]*=", line))


def _gateway_environment(dot_env: dict[str, str]) -> dict[str, str]:
    """A gateway replica's environment for this .env: the image's ENV, then env_file (.env),
    then the service's `environment:` (which wins, as in compose; an entry left empty, YAML's
    null, sets nothing)."""
    compose = yaml.safe_load(_interpolate((REPO_ROOT / "docker-compose.yml").read_text(), dot_env))
    gateway = compose["services"]["gateway"]
    assert gateway["env_file"] == ".env"
    image_env = dict(re.findall(r"(\w+)=(\S+)", DOCKERFILE.split("\nENV PATH=")[-1].split("\n\n")[0]))
    service_env = {name: str(value) for name, value in gateway["environment"].items() if value is not None}
    return {**image_env, **dot_env, **service_env}


EXAMPLE_ENV = _env_file((REPO_ROOT / ".env.example").read_text())


def test_compose_with_the_example_env_unchanged_refuses_to_start_rather_than_open() -> None:
    """`cp .env.example .env` and nothing else: compose stops, naming what to set."""
    with pytest.raises(ComposeRefused, match="POSTGRES_PASSWORD"):
        _gateway_environment(EXAMPLE_ENV)
    # Even with the database password set, a missing gateway key stops it: never an open gateway.
    with pytest.raises(ComposeRefused, match="PROXY_API_KEY"):
        _gateway_environment({**EXAMPLE_ENV, "POSTGRES_PASSWORD": "pw"})


def test_compose_passes_the_gateway_key_to_every_replica_and_open_takes_an_empty_line() -> None:
    keyed = _gateway_environment({**EXAMPLE_ENV, "POSTGRES_PASSWORD": "pw", "PROXY_API_KEY": "k-123"})
    assert keyed["PROXY_API_KEY"] == "k-123"
    opted_in = _gateway_environment({**EXAMPLE_ENV, "POSTGRES_PASSWORD": "pw", "PROXY_API_KEY": ""})
    assert opted_in.get("PROXY_API_KEY", "") == ""  # open only when written on purpose
    assert COMPOSE["services"]["migrate"]["environment"] == COMPOSE["services"]["gateway"]["environment"]


def test_compose_replicas_refuse_the_public_development_secrets() -> None:
    """The example's VANDAMME_ENVIRONMENT=development does not reach the fleet: a replica
    with the example's empty SECRET_KEY stops at start instead of using the public one."""
    env = _gateway_environment({**EXAMPLE_ENV, "POSTGRES_PASSWORD": "pw", "PROXY_API_KEY": "k-123"})
    assert env["VANDAMME_ENVIRONMENT"] == "production"
    settings_env = {
        k: v for k, v in env.items() if k in ("VANDAMME_ENVIRONMENT", "SECRET_KEY", "PROXY_API_KEY")
    }
    result = _import_settings(**settings_env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
