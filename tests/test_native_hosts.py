"""Native hosts as VMTP ran them: two hosts give both native flows (intra-host on the first, and
inter-host), reached with the SSH agent or a password from an environment variable, the server
side reached at the address of a given interface (VMTP's user@ip::ifname).

The hosts are network namespaces of this test's own range (prefix vm7-, 198.18.202.0/24, and
198.18.203.11 for the server's data interface) running real sshd: one password login (root's
password, in a shadow file only that sshd sees), one key held by a real ssh-agent.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_vmtp.measure.errors import RunnerError
from pytest_vmtp.measure.hostspec import parse_host_spec
from pytest_vmtp.measure.ssh_runner import SshRunner
from pytest_vmtp.report import vmtp_json
from tests.support.netns_hosts import NetnsLab, netns_hosts

PREFIX, SUBNET = "vm7-", "198.18.202."
DATA_IP = "198.18.203.11"  # the server host's address on its interface "data0"
PASSWORD = "vm7-Secret-pw"
FAST = """\
duration_s: 1
tcp_runs: 1
udp_pkt_sizes: [1024]
icmp_pkt_sizes: [64]
ping_count: 2
ping_interval_s: 0.05
bandwidth: 50M
"""


def _ip(netns: str, *args: str) -> None:
    subprocess.run(["ip", "-n", netns, *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def lab() -> Iterator[NetnsLab]:
    password_hash = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=PASSWORD, text=True,
                                   capture_output=True, check=True).stdout.strip()
    with netns_hosts(2, prefix=PREFIX, subnet_prefix=SUBNET, root_password_hash=password_hash) as lab:
        server, client = lab.hosts
        # The server's data interface, away from its SSH address (as a host's second NIC).
        _ip(server.netns, "link", "add", "data0", "type", "veth", "peer", "name", "data0p")  # no dummy module here
        _ip(server.netns, "addr", "add", f"{DATA_IP}/32", "dev", "data0")
        _ip(server.netns, "link", "set", "data0", "up")
        _ip(server.netns, "link", "set", "data0p", "up")
        _ip(client.netns, "route", "add", f"{DATA_IP}/32", "via", server.ip)
        yield lab
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert PREFIX not in left and PREFIX not in subprocess.run(["ip", "-br", "link"], capture_output=True,
                                                               text=True).stdout


@pytest.fixture
def agent(lab: NetnsLab, tmp_path: Path) -> Iterator[str]:
    """A real ssh-agent holding the lab's key: its socket path (SSH_AUTH_SOCK)."""
    sock = str(tmp_path / "agent.sock")
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not Path(sock).exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        subprocess.run(["ssh-add", "-q", lab.key_path], env={**os.environ, "SSH_AUTH_SOCK": sock}, check=True,
                       capture_output=True)
        yield sock
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def _login(lab: NetnsLab, spec: str) -> str:
    with SshRunner(parse_host_spec(spec, connect_timeout=5), netns=lab.controller.netns) as runner:
        return runner.run("id -un", timeout=15).stdout.strip()


def test_password_from_an_environment_variable(lab: NetnsLab, monkeypatch: pytest.MonkeyPatch) -> None:
    host = lab.hosts[0]
    spec = f"root@{host.ip},password_env=VM7_HOST_PW,known_hosts={host.known_hosts}"
    monkeypatch.setenv("VM7_HOST_PW", PASSWORD)
    assert _login(lab, spec) == "root"
    monkeypatch.setenv("VM7_HOST_PW", "wrong")
    with pytest.raises(RunnerError, match=r"authentication failed with the password in \$VM7_HOST_PW"):
        _login(lab, spec)
    monkeypatch.delenv("VM7_HOST_PW")
    with pytest.raises(RunnerError, match="password_env=VM7_HOST_PW: that environment variable is not set"):
        _login(lab, spec)


def test_ssh_agent(lab: NetnsLab, agent: str, monkeypatch: pytest.MonkeyPatch) -> None:
    host = lab.hosts[1]
    spec = f"root@{host.ip},known_hosts={host.known_hosts}"  # no key, no password: the agent
    monkeypatch.setenv("SSH_AUTH_SOCK", agent)
    assert _login(lab, spec) == "root"
    with pytest.raises(RunnerError, match="authentication failed"):
        _login(lab, spec + ",agent=no")
    monkeypatch.delenv("SSH_AUTH_SOCK")
    with pytest.raises(RunnerError, match=r"with the SSH agent \(SSH_AUTH_SOCK is not set\)"):
        _login(lab, spec)


def test_two_hosts_run_both_native_flows(lab: NetnsLab, agent: str, tmp_path: Path) -> None:
    """pytest --vmtp-host twice, as a user runs it: rows 7.1-7.3 each measure intra-host (both ends
    on the first host, to its data0 address) and inter-host; the table has VMTP's 23 rows and
    shows the inter-host flow, the JSON has both flows of each row."""
    server, client = lab.hosts
    config = tmp_path / "fast.yaml"
    config.write_text(FAST)
    out = tmp_path / "r.json"
    env = {**os.environ, "SSH_AUTH_SOCK": agent, "VM7_HOST_PW": PASSWORD}
    junit = tmp_path / "j.xml"
    cmd = ["ip", "netns", "exec", lab.controller.netns, sys.executable, "-m", "pytest",
           "--pyargs", "pytest_vmtp.scenarios", "-p", "no:cacheprovider", "-m", "native", "-o", "junit_family=xunit1",
           "--vmtp-config", str(config), "--vmtp-no-history", f"--vmtp-json={out}", f"--junitxml={junit}",
           # VMTP's own form for the server's interface, a password for the first host, the agent for the second.
           "--vmtp-host", f"root@{server.ip}::data0,password_env=VM7_HOST_PW,known_hosts={server.known_hosts}",
           "--vmtp-host", f"root@{client.ip},known_hosts={client.known_hosts}"]
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "Total Scenarios:   23" in res.stdout
    for sid, name in (("7.1", "TCP"), ("7.2", "UDP"), ("7.3", "ICMP")):
        assert re.search(rf"^\| {sid} +\| Native Throughput, {name} +\| PASSED ", res.stdout, re.M), res.stdout[-4000:]
    assert PASSWORD not in res.stdout + res.stderr + out.read_text()

    doc = json.loads(out.read_text())
    vmtp_json.validate(doc)
    native = [f for f in doc["flows"] if f["scenario"].startswith("7.")]
    assert [(f["scenario"], f["desc"], f.get("companion")) for f in native] == [
        (sid, desc, comp) for sid in ("7.1", "7.2", "7.3")
        for desc, comp in (("Native inter-host", None), ("Native intra-host", "intra-host"))]
    for flow in native:
        assert flow["status"] == "PASSED" and flow["ip_to"] == DATA_IP
        assert flow["ip_from"] == (server.ip if flow.get("companion") else client.ip)
    tcp = [f for f in native if f["scenario"] == "7.1"]
    assert all(f["results"][0]["throughput_kbps"] > 0 for f in tcp)
    # The history keeps them apart: the intra-host figures are their own.
    from pytest_vmtp.gate.figures import document_figures

    whats = {f.what for f in document_figures(doc) if f.scenario == "7.1"}
    assert whats == {"tcp 65536", "intra-host tcp 65536"}
    # Jenkins reads both flows of the row from its test case's properties.
    props = {p.get("name"): p.get("value") for tc in ET.parse(junit).getroot().iter("testcase")
             if "7.1" in tc.get("name", "") for p in tc.iter("property")}
    assert float(props["tcp.65536.throughput_kbps"]) > 0 and float(props["intra-host.tcp.65536.throughput_kbps"]) > 0
    assert props["intra-host.vmtp.desc"] == "Native intra-host" and props["intra-host.vmtp.status"] == "PASSED"
