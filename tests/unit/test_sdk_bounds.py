"""sdk/python asks pip for exactly the grpcio and protobuf its generated code checks at import,
and the server package for the same or newer."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk" / "python"
GEN = SDK / "gen"
_PROTOBUF_CHECK = re.compile(
    r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*"
    r"(\d+),\s*(\d+),\s*(\d+),\s*'([^']*)'"
)
_GRPC_CHECK = re.compile(r"^GRPC_GENERATED_VERSION = '([^']+)'$", re.M)


def _protobuf_versions() -> set[Version]:
    """The gencode versions the *_pb2.py files give protobuf's runtime check."""
    return {
        Version(f"{major}.{minor}.{patch}{tag}")
        for path in GEN.rglob("*_pb2.py")
        for major, minor, patch, tag in _PROTOBUF_CHECK.findall(path.read_text())
    }


def _grpc_versions() -> set[Version]:
    """The grpcio versions the *_pb2_grpc.py files refuse to run below."""
    return {
        Version(version)
        for path in GEN.rglob("*_pb2_grpc.py")
        for version in _GRPC_CHECK.findall(path.read_text())
    }


def _requirements(pyproject: Path) -> dict[str, Requirement]:
    project = tomllib.loads(pyproject.read_text())["project"]
    return {r.name: r for r in map(Requirement, project["dependencies"])}


def _lower_bound(requirement: Requirement) -> Version:
    [bound] = [s for s in requirement.specifier if s.operator == ">="]
    return Version(bound.version)


def test_the_generated_code_asks_for_one_version_each() -> None:
    assert len(_protobuf_versions()) == 1
    assert len(_grpc_versions()) == 1


def test_sdk_bounds_are_what_gen_checks() -> None:
    [protobuf] = _protobuf_versions()
    [grpcio] = _grpc_versions()
    requirements = _requirements(SDK / "pyproject.toml")
    assert set(requirements) == {"grpcio", "protobuf"}, "the SDK depends on these two only"
    assert str(requirements["protobuf"].specifier) == f">={protobuf}"
    assert str(requirements["grpcio"].specifier) == f">={grpcio}"


def test_the_server_asks_for_the_same_or_newer() -> None:
    sdk, server = _requirements(SDK / "pyproject.toml"), _requirements(ROOT / "pyproject.toml")
    for name in ("grpcio", "protobuf"):
        assert _lower_bound(server[name]) >= _lower_bound(sdk[name]), name
    sdk_version = tomllib.loads((SDK / "pyproject.toml").read_text())["project"]["version"]
    assert str(server["veilsync-sdk"].specifier) == f"=={sdk_version}"
