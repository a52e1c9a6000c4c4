"""Uploading a missing tool to a host over SSH (what the cloud fixtures do for VMs).

The host is a lab namespace whose sshd runs in its own mount namespace, where /usr/bin is
replaced by a directory of links to every real binary but nuttcp, and /usr/local/bin is a
private tmpfs: the upload lands there and never touches this machine's real /usr/local/bin.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from support.netns_hosts import netns_hosts

from pytest_vmtp.measure import provision
from pytest_vmtp.measure.errors import ToolMissing
from pytest_vmtp.measure.hostspec import parse_host_spec
from pytest_vmtp.measure.provision import provision_tools
from pytest_vmtp.measure.settings import MeasureSettings
from pytest_vmtp.measure.ssh_runner import SshRunner
from pytest_vmtp.sshd import SSHD


@pytest.fixture
def host_without_nuttcp(tmp_path):
    with netns_hosts(1, sshd=False) as lab:
        host = lab.hosts[0]
        conf = tmp_path / "sshd_config"
        (tmp_path / "authorized_keys").write_text(lab.public_key + "\n")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "hk")], check=True)
        conf.write_text(f"Port 22\nHostKey {tmp_path}/hk\nAuthorizedKeysFile {tmp_path}/authorized_keys\n"
                        f"PidFile {tmp_path}/pid\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n"
                        "Subsystem sftp internal-sftp\n")
        real, fake = tmp_path / "real", tmp_path / "fake"
        real.mkdir()
        fake.mkdir()
        script = (f"mount --make-rprivate / && mount -t tmpfs tmpfs /usr/local/bin && "
                  f"mount --bind /usr/bin {real} && "
                  f"for f in {real}/*; do [ \"${{f##*/}}\" = nuttcp ] || ln -s \"$f\" {fake}/; done && "
                  f"mount --bind {fake} /usr/bin && exec {SSHD} -D -e -f {conf}")
        proc = subprocess.Popen(["ip", "netns", "exec", host.netns, "unshare", "-m", "sh", "-c", script],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            target = parse_host_spec(f"root@{host.ip},key={lab.key_path},hostkey=accept-new,"
                                     f"known_hosts={tmp_path}/known_hosts")
            runner = SshRunner(target, netns=lab.controller.netns)
            for _ in range(500):
                if _listening(host.netns):
                    break
                time.sleep(0.01)
            yield runner
            runner.close()
        finally:
            proc.kill()
            proc.wait()


def _listening(netns: str) -> bool:
    out = subprocess.run(["ip", "netns", "exec", netns, "ss", "-ltn"], capture_output=True, text=True).stdout
    return ":22 " in out


def test_missing_nuttcp_is_uploaded_and_runs(host_without_nuttcp):
    runner = host_without_nuttcp
    settings = MeasureSettings()
    assert not runner.has_binary("nuttcp")
    assert provision_tools(runner, settings, ("tcp",)) == ["nuttcp"]
    assert runner.run("nuttcp -V", timeout=10).ok
    assert provision_tools(runner, settings, ("tcp", "icmp")) == []  # idempotent


def test_missing_tool_without_a_local_copy_says_what_to_install(host_without_nuttcp, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)  # this machine has no nuttcp either
    with pytest.raises(ToolMissing, match="nuttcp not found on host root@198.18.0.11 nor here"):
        provision_tools(host_without_nuttcp, MeasureSettings(), ("udp",))


def test_upload_is_staged_in_a_private_directory_not_a_predictable_path(host_without_nuttcp, tmp_path,
                                                                       monkeypatch):
    """Someone on the host planted a symlink where a predictable staging path would be: the
    upload must neither write through it nor install what it points to."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    planted = Path("/tmp/vmtp-nuttcp")
    made: list[str] = []  # this upload's staging directories (other tests share /tmp)
    real_private_dir = provision._private_dir
    monkeypatch.setattr(provision, "_private_dir", lambda runner: made.append(real_private_dir(runner)) or made[-1])
    planted.unlink(missing_ok=True)
    planted.symlink_to(victim)
    try:
        assert provision_tools(host_without_nuttcp, MeasureSettings(), ("tcp",)) == ["nuttcp"]
    finally:
        planted.unlink(missing_ok=True)
    assert victim.read_text() == "precious\n"
    assert host_without_nuttcp.run("nuttcp -V", timeout=10).stdout.startswith("nuttcp-")
    assert len(made) == 1 and made[0].startswith("/tmp/vmtp-upload.")
    assert not Path(made[0]).exists()  # the staging directory is gone


def test_multicast_tools_are_uploaded_where_possible(host_without_nuttcp, monkeypatch):
    """multicast_tool auto needs nuttcp or iperf 2: a host lacking one gets it where it can; a
    tool that cannot be uploaded is no error then (the measurement picks among what is there),
    but it is when multicast_tool names it."""
    with monkeypatch.context() as m:
        m.setattr("shutil.which", lambda name: None)  # nothing to upload from here
        assert provision_tools(host_without_nuttcp, MeasureSettings(), ("multicast",)) == []
        with pytest.raises(ToolMissing, match="^nuttcp not found on host .* nor here"):
            provision_tools(host_without_nuttcp, MeasureSettings(multicast_tool="nuttcp"), ("multicast",))
    assert provision_tools(host_without_nuttcp, MeasureSettings(), ("multicast",)) == ["nuttcp"]  # iperf: there
