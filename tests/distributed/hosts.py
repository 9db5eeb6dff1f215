"""Hosts on this machine: one network namespace each, all on one bridge, so that processes
reach each other by address over links a test can cut. Whatever is built is torn down on
exit, the processes started on the hosts first, even when the test fails."""

import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# Our hosts take a free /24 of this block (10.77.X.0/24); nothing else is ever addressed.
BLOCK = "10.77"
STOP_TIMEOUT_S = 10.0


def missing() -> str:
    """Why hosts cannot be built here, or "" when they can."""
    if os.geteuid() != 0:
        return "building network namespaces needs root"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    return ""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass
class Host:
    """A network namespace with one address on the bridge, and the processes started in it."""

    role: str
    namespace: str
    address: str
    link: str  # its end of the veth pair
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def argv(self, *command: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, *command]

    def start(
        self, name: str, command: Sequence[str], env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        """Run `command` on this host, its output in logs/ROLE-NAME.log. `ip netns exec` execs
        the command, so the process's pid is the command's own."""
        with open(self.logs / f"{self.role}-{name}.log", "ab") as log:
            process = subprocess.Popen(
                self.argv(*command), env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        return process

    def cut(self) -> None:
        """Take the host off the network, as a pulled cable would."""
        ip("-n", self.namespace, "link", "set", self.link, "down")

    def reconnect(self) -> None:
        ip("-n", self.namespace, "link", "set", self.link, "up")

    def stop_processes(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _free_subnet() -> str:
    taken = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    free = [x for x in range(1, 255) if f" {BLOCK}.{x}." not in taken]
    return f"{BLOCK}.{random.choice(free)}"


@contextmanager
def network(roles: Sequence[str], logs: Path) -> Iterator[dict[str, Host]]:
    """A host per role on a bridge of our own; this side of the bridge holds the .1 address,
    so the test itself reaches every host. Names carry a token unique to this run."""
    token = uuid.uuid4().hex[:5]
    subnet = _free_subnet()
    bridge = f"vsbr{token}"
    hosts: dict[str, Host] = {}
    outside_links: list[str] = []
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{subnet}.1/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        for index, role in enumerate(roles, start=2):
            namespace, outside = f"vs{token}-{role}", f"v{token}{index}o"
            host = Host(role, namespace, f"{subnet}.{index}", f"v{token}{index}i", logs)
            ip("netns", "add", namespace)
            hosts[role] = host
            ip(
                "link",
                "add",
                outside,
                "type",
                "veth",
                "peer",
                "name",
                host.link,
                "netns",
                namespace,
            )
            outside_links.append(outside)
            ip("link", "set", outside, "master", bridge, "up")
            ip("-n", namespace, "addr", "add", f"{host.address}/24", "dev", host.link)
            ip("-n", namespace, "link", "set", host.link, "up")
            ip("-n", namespace, "link", "set", "lo", "up")
        yield hosts
    finally:
        # A namespace lives on while a process is in it: stop them before deleting it.
        for host in reversed(hosts.values()):
            host.stop_processes()
        for command in (
            *(["link", "del", link] for link in outside_links),
            *(["netns", "del", host.namespace] for host in hosts.values()),
            ["link", "del", bridge],
        ):
            subprocess.run(["ip", *command], capture_output=True)
