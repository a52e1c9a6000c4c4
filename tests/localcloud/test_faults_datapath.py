"""Data-path faults of the local cloud, measured with the real tools between VM namespaces.

Each shaped leg delays what it carries once per direction: a ping through one shaped server
port crosses it twice (request in, reply out), so its RTT grows by 2 x delay_ms.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.localcloud.fault_support import (
    PREFIX,
    FaultCloud,
    fault_chains,
    fault_cloud,
    in_ns,
    nuttcp_mbps,
    ping,
    qdiscs,
)

__all__ = ["fault_cloud"]  # the module's cloud fixture

HOST1, HOST2 = f"{PREFIX}-compute1", f"{PREFIX}-compute2"


@pytest.fixture
def cloud(fault_cloud: FaultCloud):
    fault_cloud.set({})
    yield fault_cloud
    fault_cloud.set({})


def test_server_delay_jitter_and_loss(cloud: FaultCloud) -> None:
    client, server_ip = cloud.netns("f-client"), cloud.ip("f-server")
    assert ping(client, server_ip, 10).avg < 3
    cloud.set({"data_path": [{"server": "^f-server$", "delay_ms": 10, "jitter_ms": 1}]})
    delayed = ping(client, server_ip, 20, 0.02)
    assert delayed.loss == 0
    assert 19 < delayed.avg < 25, delayed.rtts  # 2 x (10 +- 1) ms, plus the path's own
    assert max(delayed.rtts.values()) - min(delayed.rtts.values()) > 0.5  # jitter shows
    cloud.set({"data_path": [{"server": "^f-server$", "loss_pct": 20}]})
    lossy = ping(client, server_ip, 300, 0.003)
    assert 0.2 < lossy.loss < 0.5, lossy.loss  # 1 - 0.8 x 0.8 = 36 % for both directions
    cloud.set({})  # a document without data_path lifts every fault
    assert ping(client, server_ip, 50, 0.005).loss == 0
    assert fault_chains(cloud.netns("f-server")) == [] and fault_chains(HOST1) == []


def test_rate_limit_on_a_server(cloud: FaultCloud) -> None:
    client, server = cloud.netns("f-client"), cloud.netns("f-server")
    cloud.set({"data_path": [{"server": "-server$", "rate": "100mbit"}]})
    assert "tbf" in qdiscs(HOST1) and "tbf" in qdiscs(server)
    mbps = nuttcp_mbps(client, server, cloud.ip("f-server"))
    # tbf counts frames (Ethernet + IP + TCP headers): ~95.5 Mbit/s of payload at MTU 1450.
    assert 90 < mbps < 100.5, mbps
    cloud.set({"data_path": []})  # an empty list lifts it too
    assert "tbf" not in qdiscs(HOST1) + qdiscs(server)


def test_host_delay_hits_only_what_crosses_its_underlay(cloud: FaultCloud) -> None:
    cloud.set({"data_path": [{"host": "compute2", "delay_ms": 5}]})
    across = ping(cloud.netns("f-client"), cloud.ip("f-server"), 10, 0.02)  # compute2 -> 1
    assert 9.5 < across.avg < 14, across.rtts
    local = ping(cloud.netns("f-other"), cloud.ip("f-server"), 10, 0.02)  # compute1 only
    assert local.avg < 4, local.rtts


def test_network_down_window_then_delay(cloud: FaultCloud) -> None:
    """net2 down 1 s from 0.5 s after the document, its ports delayed 5 ms from then on:
    the pings in the window are lost, the ones after it are 10 ms late (other -> router)."""
    other, server_ip = cloud.netns("f-other"), cloud.ip("f-server")
    cloud.set({"data_path": [{"network": "f-net2$", "delay_ms": 5, "down_s": 1,
                              "after_s": 0.5}]})
    pings = ping(other, server_ip, 50, 0.05)  # 2.5 s
    lost = sorted(set(range(1, 51)) - set(pings.rtts))
    assert 12 <= len(lost) <= 26, lost
    assert 6 <= lost[0] <= 14 and lost == list(range(lost[0], lost[0] + len(lost))), lost
    before = [rtt for seq, rtt in pings.rtts.items() if seq < lost[0]]
    after = [rtt for seq, rtt in pings.rtts.items() if seq > lost[-1] + 2]
    assert max(before) < 4 and min(after) > 9.5, (before, after)


def test_fault_follows_what_boots_later(cloud: FaultCloud) -> None:
    cloud.set({"data_path": [{"server": "^f-late$", "delay_ms": 8}]})
    cloud.boot("f-late", "f-net1", "compute1")
    try:
        late = ping(cloud.netns("f-client"), cloud.ip("f-late"), 10, 0.02)
        assert 15.5 < late.avg < 21, late.rtts
        assert ping(cloud.netns("f-client"), cloud.ip("f-server"), 10, 0.02).avg < 4
    finally:
        cloud.delete("f-late")


def test_faults_yaml_applies_without_an_api_call(cloud: FaultCloud) -> None:
    path = cloud.handle.state_dir / "faults.yaml"
    path.write_text('data_path:\n  - {server: "^f-server$", delay_ms: 6}\n')
    try:
        time.sleep(0.6)  # the file is looked at every 0.25 s
        assert 11 < ping(cloud.netns("f-client"), cloud.ip("f-server"), 10, 0.02).avg < 17
        path.write_text("data_path:\n  - {server: f-server, delay_ms: lots}\n")
        time.sleep(0.6)
        status = subprocess.run([sys.executable, "-m", "pytest_vmtp.localcloud.cli", "status",
                                 "--state-dir", str(cloud.handle.state_dir)],
                                capture_output=True, text=True)
        assert ("faults.yaml: data_path[0].delay_ms: 'lots' is not of type 'number'"
                in status.stdout), status.stdout
        log = (cloud.handle.state_dir / "server.log").read_text()
        assert "data_path[0].delay_ms" in log and "Traceback" not in log
    finally:
        path.write_text("{}\n")
        time.sleep(0.6)


def test_crash_kills_the_running_tool(cloud: FaultCloud) -> None:
    server = cloud.netns("f-server")
    tool = subprocess.Popen(["ip", "netns", "exec", server, "nuttcp", "-S", "--nofork"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cloud.set({"data_path": [{"crash": "nuttcp", "server": "^f-server$", "after_s": 0.3}]})
        time.sleep(0.2)
        assert tool.poll() is None  # not before after_s
        assert tool.wait(timeout=3) == -9
        again = subprocess.Popen(["ip", "netns", "exec", server, "nuttcp", "-S", "--nofork"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        assert again.poll() is None  # count 1: one crash
        again.kill()
        again.wait()
    finally:
        if tool.poll() is None:
            tool.kill()
            tool.wait()


def test_kill_sshd_then_namespace(cloud: FaultCloud) -> None:
    cloud.boot("f-victim", "f-net2", "compute2")
    try:
        victim, ip = cloud.netns("f-victim"), cloud.ip("f-victim")
        probe = ["python3", "-c", f"import socket; socket.create_connection(('{ip}', 22), 1)"]
        assert in_ns(cloud.netns("f-other"), *probe).returncode == 0
        cloud.set({"data_path": [{"kill": "sshd", "server": "^f-victim$", "after_s": 0.3}]})
        time.sleep(0.8)
        assert in_ns(cloud.netns("f-other"), *probe).returncode != 0  # refused now
        assert ping(cloud.netns("f-other"), ip, 3).loss == 0  # the VM itself lives
        cloud.set({"data_path": [{"kill": "namespace", "server": "^f-victim$"}]})
        time.sleep(0.3)
        assert victim not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                            text=True).stdout
        assert cloud.conn.compute.get_server(cloud.servers["f-victim"].id).status == "SHUTOFF"
    finally:
        cloud.delete("f-victim")  # deleting a dead VM leaves nothing either
