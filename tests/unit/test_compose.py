"""docker-compose.yml checked without a Docker engine: valid against the compose spec's JSON
schema (vendored by check-jsonschema, so offline), every VEILSYNC_* variable it sets is a
Settings field, every Veilsync process gets the very same keys, every long-running service
has a healthcheck, and the API serves TLS."""

import copy
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from services.common.settings import Settings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
# Values that must be one and the same in every process of the deployment.
SHARED = (
    "VEILSYNC_CODEC_KEY",
    "VEILSYNC_SECRET_KEY",
    "VEILSYNC_DATABASE_URL",
    "VEILSYNC_ARTIFACT_STORE",
    "VEILSYNC_S3_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)
VEILSYNC_COMMANDS = ("services.api", "services.sync_worker", "services.ml_worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the KEY=value list form
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _veilsync_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if any(c in " ".join(service.get("command", [])) for c in VEILSYNC_COMMANDS)
    }


def _schema_errors(compose: dict[str, Any]) -> list[str]:
    schema_file = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema = json.loads(schema_file.read_text())
    # The draft the schema names (2020-12 today): an older validator ignores its keywords.
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [error.message for error in validator.iter_errors(compose)]


def test_the_file_is_valid_against_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    assert _schema_errors(compose) == []


def test_the_schema_check_catches_a_misspelt_key(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["helthcheck"] = broken["services"]["api"].pop("healthcheck")
    assert any("helthcheck" in message for message in _schema_errors(broken))


def test_every_veilsync_variable_is_a_setting(compose: dict[str, Any]) -> None:
    fields = {f"VEILSYNC_{name.upper()}" for name in Settings.model_fields}
    for name, service in compose["services"].items():
        unknown = {k for k in _environment(service) if k.startswith("VEILSYNC_")} - fields
        assert not unknown, f"{name} sets {unknown}, which Settings does not read"


def test_every_veilsync_process_gets_the_same_keys(compose: dict[str, Any]) -> None:
    services = _veilsync_services(compose)
    assert set(services) == {"api", "sync-worker", "ml-worker"}
    for variable in SHARED:
        values = {name: _environment(s).get(variable) for name, s in services.items()}
        assert len(set(values.values())) == 1, f"{variable} differs: {values}"
        assert None not in values.values(), f"{variable} missing: {values}"
    for key in ("VEILSYNC_CODEC_KEY", "VEILSYNC_SECRET_KEY"):
        # From the .env file, required: never a literal, never generated per container.
        required = re.escape("${" + key + ":?")
        assert re.fullmatch(required + r"[^}]+\}", _environment(services["api"])[key])


def test_models_live_in_the_shared_object_store(compose: dict[str, Any]) -> None:
    env = _environment(compose["services"]["api"])
    assert env["VEILSYNC_ARTIFACT_STORE"].startswith("s3://")
    assert env["VEILSYNC_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert "minio" in compose["services"]


def test_every_service_has_a_healthcheck_or_is_a_one_shot_job(compose: dict[str, Any]) -> None:
    one_shots = {
        dependency
        for service in compose["services"].values()
        if isinstance(service.get("depends_on"), dict)
        for dependency, condition in service["depends_on"].items()
        if condition.get("condition") == "service_completed_successfully"
    }
    for name, service in compose["services"].items():
        if name in one_shots:
            # A job that exits: a healthcheck would never report, dependents wait for its exit.
            assert service.get("restart") == "no", name
        else:
            check = service.get("healthcheck", {})
            assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_temporal_uses_current_images_not_auto_setup(compose: dict[str, Any]) -> None:
    images = {s.get("image", "") for s in compose["services"].values()}
    assert any(i.startswith("temporalio/server:") for i in images)
    assert any(i.startswith("temporalio/admin-tools:") for i in images)
    assert not any("auto-setup" in i for i in images)
    assert "tctl" not in COMPOSE.read_text()


def test_the_api_serves_tls_from_mounted_secrets(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    env = _environment(api)
    for variable, secret in (
        ("VEILSYNC_API_TLS_CERT", "api_tls_cert"),
        ("VEILSYNC_API_TLS_KEY", "api_tls_key"),
    ):
        assert env[variable] == f"/run/secrets/{secret}"
        assert secret in api["secrets"] and secret in compose["secrets"]


def test_the_first_api_key_is_on_a_volume_the_host_can_read_from(
    compose: dict[str, Any],
) -> None:
    env = _environment(compose["services"]["api"])
    mounts = [str(v).split(":") for v in compose["services"]["api"]["volumes"]]
    assert [env["VEILSYNC_DATA_DIR"]] == [target for _, target in mounts]
