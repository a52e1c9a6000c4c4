"""SshRunner against real sshd servers in the lab's namespaces."""

from __future__ import annotations

import base64
import hashlib
import stat
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_vmtp.measure.errors import RunnerError
from pytest_vmtp.measure.hostspec import parse_host_spec
from pytest_vmtp.measure.runner import Runner
from pytest_vmtp.measure.ssh_runner import SshRunner

from .conftest import tool_processes_in


def test_run_over_ssh(lab, ssh_h1: SshRunner) -> None:
    assert isinstance(ssh_h1, Runner)
    res = ssh_h1.run("id -un; ip -4 -o addr show dev eth0; echo err >&2; exit 4", timeout=10)
    assert res.exit_code == 4 and res.stdout.startswith("root\n")
    assert lab.hosts[0].ip in res.stdout and res.stderr == "err\n"
    assert ssh_h1.label == f"root@{lab.hosts[0].ip}"


def test_sessions_have_the_hosts_own_home(lab, ssh_h1: SshRunner) -> None:
    """A host's sessions start in a home of its own (its sshd's directory), as a machine of its
    own has: this machine's root dotfiles (~/.bashrc, sourced by bash for SSH commands) neither
    slow nor change its commands."""
    res = ssh_h1.run('echo "$HOME"', timeout=10)
    assert res.stdout.strip() == str(lab.workdir / lab.hosts[0].netns / "home"), res.stdout


def test_command_timeout(ssh_h1: SshRunner) -> None:
    with pytest.raises(RunnerError, match="timed out after 1 s"):
        ssh_h1.run("sleep 20", timeout=1)
    assert ssh_h1.run("echo still usable", timeout=10).stdout == "still usable\n"


def test_background_survives_channel_and_stop_kills_group(lab, ssh_h1: SshRunner) -> None:
    bg = ssh_h1.start("sh -c 'sleep 60 & sleep 61 & wait'")
    assert bg.alive()
    assert sorted(tool_processes_in(lab.hosts[0].netns)) == ["sleep", "sleep"]
    bg.stop()
    bg.stop()
    assert not bg.alive()
    assert tool_processes_in(lab.hosts[0].netns) == []


def test_wrong_key_is_one_clear_line(lab, tmp_path) -> None:
    key = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    target = replace(parse_host_spec(lab.hosts[0].spec), key_file=str(key))
    with pytest.raises(RunnerError) as info:
        SshRunner(target, netns=lab.controller.netns).run("true", timeout=5)
    assert str(info.value) == (f"ssh root@{lab.hosts[0].ip}: authentication failed with key "
                               f"{key}: check the user and credentials")


def test_refused_port(lab) -> None:
    target = replace(parse_host_spec(lab.hosts[0].spec), port=2222)
    with pytest.raises(RunnerError, match=r"^ssh root@198\.18\.0\.11:2222: connection refused "
                                          r"on port 2222: is sshd running there\?$"):
        SshRunner(target, netns=lab.controller.netns).run("true", timeout=5)


def test_unreachable_host(lab) -> None:
    target = parse_host_spec(f"root@198.18.0.99,key={lab.key_path}", connect_timeout=1)
    start = time.monotonic()
    with pytest.raises(RunnerError) as info:
        SshRunner(target, netns=lab.controller.netns).run("true", timeout=5)
    assert time.monotonic() - start < 6
    message = str(info.value)
    assert message.startswith("ssh root@198.18.0.99: ") and "\n" not in message
    assert "no answer within 1 s" in message or "No route to host" in message


def test_missing_key_file(lab) -> None:
    target = parse_host_spec(f"root@{lab.hosts[0].ip},key=/nonexistent/id")
    with pytest.raises(RunnerError, match="key file /nonexistent/id not readable"):
        SshRunner(target, netns=lab.controller.netns).run("true", timeout=5)


def test_jump_host(lab) -> None:
    h1, h2 = lab.hosts
    target = parse_host_spec(f"root@{h2.ip},key={lab.key_path},jump=root@{h1.ip},known_hosts={h1.known_hosts}")
    with SshRunner(target, netns=lab.controller.netns) as r:
        assert h2.ip in r.run("ip -4 -o addr show dev eth0", timeout=10).stdout


def test_two_hosts_from_two_threads(lab, ssh_h1: SshRunner, ssh_h2: SshRunner) -> None:
    seen: dict[str, list[str]] = {}

    def work(runner: SshRunner) -> None:
        seen[runner.label] = [runner.run("hostname -I", timeout=10).stdout.split()[0]
                              for _ in range(5)]

    threads = [threading.Thread(target=work, args=(r,)) for r in (ssh_h1, ssh_h2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen == {ssh_h1.label: [lab.hosts[0].ip] * 5, ssh_h2.label: [lab.hosts[1].ip] * 5}


def test_put_file_and_has_binary(ssh_h1: SshRunner, tmp_path) -> None:
    src = tmp_path / "vtst-tool"
    src.write_text("#!/bin/sh\necho uploaded\n")
    remote = f"/tmp/vtst-tool-{tmp_path.name}"
    try:
        ssh_h1.put_file(str(src), remote, 0o755)
        assert ssh_h1.run(remote, timeout=10).stdout == "uploaded\n"
    finally:
        ssh_h1.run(f"rm -f {remote}", timeout=10)
    assert ssh_h1.has_binary("nuttcp") and not ssh_h1.has_binary("vtst-no-such-tool")


# --- host keys -------------------------------------------------------------------------------
def _lab_host_key(lab) -> tuple[str, str]:
    """(type, base64) of the key every lab host offers."""
    kind, blob = (lab.workdir / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    return kind, blob


def _fingerprint(blob: str) -> str:
    digest = hashlib.sha256(base64.b64decode(blob)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def test_unknown_host_key_is_refused_in_one_line(lab, tmp_path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    host = lab.hosts[0]
    target = parse_host_spec(f"root@{host.ip},key={lab.key_path},known_hosts={known}")
    with pytest.raises(RunnerError) as info:
        SshRunner(target, netns=lab.controller.netns).run("true", timeout=5)
    kind, blob = _lab_host_key(lab)
    assert str(info.value) == (
        f"ssh root@{host.ip}: unknown host key {kind} {_fingerprint(blob)} of {host.ip} (not in {known}): "
        f"check it, then add it (ssh-keyscan -p 22 {host.ip} >> {known}), or accept new keys with "
        "',hostkey=accept-new' in the host spec or --vmtp-accept-new-host-keys")
    assert known.read_text() == ""  # nothing learnt


def test_by_default_the_users_known_hosts_decides(lab, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # a user who never met the lab's hosts
    host = lab.hosts[0]
    target = parse_host_spec(f"root@{host.ip},key={lab.key_path}")
    with pytest.raises(RunnerError, match=rf"unknown host key .* \(not in {tmp_path}/.ssh/known_hosts or "
                                          r"/etc/ssh/ssh_known_hosts\)"):
        SshRunner(target, netns=lab.controller.netns).run("true", timeout=5)
    kind, blob = _lab_host_key(lab)
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "known_hosts").write_text(f"# mine\n@cert-authority *.example.org {kind} {blob}\n"
                                                   f"bad line\n{host.ip} {kind} {blob}\n")
    with SshRunner(target, netns=lab.controller.netns) as runner:
        assert runner.run("echo ok", timeout=10).stdout == "ok\n"


def test_accept_new_learns_the_key_then_checks_it(lab, tmp_path) -> None:
    known = tmp_path / "sub" / "known_hosts"  # neither file nor directory exists yet
    host = lab.hosts[1]
    spec = f"root@{host.ip},key={lab.key_path},known_hosts={known}"
    with SshRunner(parse_host_spec(spec + ",hostkey=accept-new"), netns=lab.controller.netns) as runner:
        assert runner.run("echo ok", timeout=10).stdout == "ok\n"
    kind, blob = _lab_host_key(lab)
    assert known.read_text() == f"{host.ip} {kind} {blob}\n"
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    with SshRunner(parse_host_spec(spec), netns=lab.controller.netns) as runner:  # strict now knows it
        assert runner.run("echo ok", timeout=10).stdout == "ok\n"
    assert known.read_text() == f"{host.ip} {kind} {blob}\n"  # learnt once


def test_accept_new_through_the_option_default(lab, tmp_path) -> None:
    known = tmp_path / "known_hosts"
    host = lab.hosts[0]
    target = parse_host_spec(f"root@{host.ip},key={lab.key_path},known_hosts={known}", host_key_policy="accept-new")
    with SshRunner(target, netns=lab.controller.netns) as runner:
        assert runner.run("true", timeout=10).ok
    assert known.read_text().startswith(f"{host.ip} ssh-ed25519 ")


@pytest.mark.parametrize("policy", ["strict", "accept-new"])
def test_changed_host_key_is_always_refused(lab, tmp_path, policy) -> None:
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, old_blob = (tmp_path / "other.pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    host = lab.hosts[0]
    known.write_text(f"{host.ip} {kind} {old_blob}\n")
    target = parse_host_spec(f"root@{host.ip},key={lab.key_path},known_hosts={known},hostkey={policy}")
    with pytest.raises(RunnerError) as info:
        SshRunner(target, netns=lab.controller.netns).run("true", timeout=5)
    _, blob = _lab_host_key(lab)
    assert str(info.value) == (
        f"ssh root@{host.ip}: host key of {host.ip} CHANGED: it offers {kind} {_fingerprint(blob)}, {known} has "
        f"{kind} {_fingerprint(old_blob)}; refused: if the host was reinstalled, remove the old key "
        f"(ssh-keygen -R '{host.ip}' -f {known}), else someone may be in the middle")
    assert known.read_text() == f"{host.ip} {kind} {old_blob}\n"


def test_hashed_known_hosts_entries_are_understood(lab, tmp_path) -> None:
    kind, blob = _lab_host_key(lab)
    known = tmp_path / "known_hosts"
    known.write_text(f"{lab.hosts[0].ip} {kind} {blob}\n")
    subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
    assert lab.hosts[0].ip not in known.read_text()
    target = parse_host_spec(f"root@{lab.hosts[0].ip},key={lab.key_path},known_hosts={known}")
    with SshRunner(target, netns=lab.controller.netns) as runner:
        assert runner.run("true", timeout=10).ok


def test_unknown_jump_host_key_is_refused(lab, tmp_path) -> None:
    h1, h2 = lab.hosts
    kind, blob = _lab_host_key(lab)
    known = tmp_path / "known_hosts"
    known.write_text(f"{h2.ip} {kind} {blob}\n")  # the target is known, its jump host is not
    target = parse_host_spec(f"root@{h2.ip},key={lab.key_path},jump=root@{h1.ip},known_hosts={known}")
    with pytest.raises(RunnerError, match=rf"^ssh root@{h2.ip} \(via jump root@{h1.ip}\): unknown host key "
                                          rf"ssh-ed25519 SHA256:\S+ of {h1.ip} "):
        SshRunner(target, netns=lab.controller.netns).run("true", timeout=5)


# --- background processes: private files, nothing left by a killed controller ---------------
def test_background_files_are_private_and_removed(lab, ssh_h1: SshRunner) -> None:
    bg = ssh_h1.start("echo started; sleep 60")
    directory = Path(bg.directory)  # the lab's hosts share this machine's file system
    assert directory.parent == Path("/tmp") and directory.name.startswith("vmtp-bg.")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert sorted(p.name for p in directory.iterdir()) == ["log", "pid"]
    assert (directory / "pid").read_text().strip() == str(bg.pgid)
    bg.stop()
    assert bg.log() == "started\n"
    assert not directory.exists()
    assert tool_processes_in(lab.hosts[0].netns) == []


KILLED_CONTROLLER = """
import sys, time
from pytest_vmtp.measure.hostspec import parse_host_spec
from pytest_vmtp.measure.ssh_runner import SshRunner
runner = SshRunner(parse_host_spec(sys.argv[1]), netns=sys.argv[2])
bg = runner.start("sleep 300")
print(bg.directory, flush=True)
time.sleep(600)
"""


def test_a_killed_controller_leaves_no_server_and_no_files(lab) -> None:
    """kill -9 of the process that started a server: the host ends it and removes its files."""
    host = lab.hosts[1]
    child = subprocess.Popen([sys.executable, "-c", KILLED_CONTROLLER, host.spec, lab.controller.netns],
                             stdout=subprocess.PIPE, text=True)
    try:
        directory = Path(child.stdout.readline().strip())
        assert directory.name.startswith("vmtp-bg.") and (directory / "pid").exists()
        assert tool_processes_in(host.netns) == ["sleep"]
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 10
    while (directory.exists() or tool_processes_in(host.netns)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not directory.exists()
    assert tool_processes_in(host.netns) == []
