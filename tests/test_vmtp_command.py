"""The `vmtp` command's translation of VMTP's command line (pure, and bash for openrc files)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from pytest_vmtp.compat import command, vmtp_flags
from pytest_vmtp.compat.openrc import OpenrcError, read_openrc

# VMTP 2.5's argparse (vmtp.py parse_opts_from_cli), every spelling.
VMTP_FLAGS = {
    "-c", "--config", "-sc", "--show-config", "-r", "--rc", "-m", "--monitor", "-p", "--password", "-t",
    "--time", "--host", "--external-host", "--controller-node", "--mongod-server", "--json", "--tp-tool",
    "--availability_zone", "--hypervisor", "--inter-node-only", "--same-network-only", "--protocols",
    "--multicast_addr", "--bandwidth", "--tcpbuf", "--udpbuf", "--icmp_pkt_sizes", "--reuse_network_name",
    "--os-dataplane-network", "--delete-image-after-run", "--no-env", "--vnic-type", "--no-dhcp",
    "--no-floatingip", "--use-config-drive", "-d", "--debug", "-v", "--version", "--stop-on-error",
    "--keep-first-flow-and-exit", "--vm-image-url", "--test-description", "--log-file", "--logfile",
}
HANDLED_BY_THE_COMMAND = {"rc", "no_env", "version"}  # credentials and -v: command.py


def test_every_vmtp_flag_is_in_the_table_with_a_mapping_or_a_refusal() -> None:
    spelled = {name for f in vmtp_flags.FLAGS if f.vmtp for name in f.names}
    assert spelled == VMTP_FLAGS
    for flag in vmtp_flags.FLAGS:
        assert bool(flag.to or flag.markers or flag.refuse) != (flag.dest in HANDLED_BY_THE_COMMAND), flag
        assert not (flag.refuse and (flag.to or flag.markers)), flag


def _argv(text: str) -> list[str]:
    return vmtp_flags.translate(shlex.split(text), None).argv()


def test_flags_become_pytest_vmtp_options() -> None:
    assert _argv("-c vmtp.yaml -t 5 --protocols TI --tp-tool iperf --bandwidth 20M --tcpbuf 8192,65536 "
                 "--udpbuf 128 --icmp_pkt_sizes 64 --json out.json --test-description 'rack 4' "
                 "--mongod-server 10.0.0.9 --availability_zone az1 --reuse_network_name prov "
                 "--no-floatingip") == [
        "--vmtp-config", "vmtp.yaml", "--vmtp-time", "5", "--vmtp-mongod-server", "10.0.0.9",
        "--vmtp-json", "out.json", "--vmtp-tool", "iperf", "--vmtp-availability-zone", "az1",
        "--vmtp-protocols", "TI", "--vmtp-bandwidth", "20M", "--vmtp-tcp-pkt-sizes", "8192,65536",
        "--vmtp-udp-pkt-sizes", "128", "--vmtp-icmp-pkt-sizes", "64", "--vmtp-network", "prov",
        "--vmtp-no-floating-ip", "--vmtp-description", "rack 4"]
    assert _argv("--host root@10.0.0.5::eth1 --host root@10.0.0.6 --hypervisor az1:c1 --hypervisor c2") == [
        "--vmtp-host", "root@10.0.0.5::eth1", "--vmtp-host", "root@10.0.0.6",
        "--vmtp-hypervisor", "az1:c1", "--vmtp-hypervisor", "c2"]


def test_placement_flags_are_marker_expressions_and_pytest_options() -> None:
    assert _argv("--inter-node-only") == ["--vmtp-no-intra-host", "-m", "not intra_node"]
    assert _argv("--inter-node-only --same-network-only -d --stop-on-error --log-file run.log -- -k 2.1 -n 2") == [
        "--vmtp-no-intra-host", "-v", "-x", "--vmtp-keep", "--log-file-level=INFO", "--log-file", "run.log",
        "-m", "(not intra_node) and (not different_network)", "-k", "2.1", "-n", "2"]


@pytest.mark.parametrize("args, says", [
    ("-p hunter2", "export OS_PASSWORD"),
    ("--controller-node root@10.0.0.1", "from the APIs"),
    ("-m 10.0.0.1", "gmond:"),
    ("--keep-first-flow-and-exit", "-k 1.1 --vmtp-keep"),
    ("--os-dataplane-network physnet2", "controller"),
])
def test_flags_that_cannot_be_honoured_are_errors_that_say_so(args: str, says: str) -> None:
    with pytest.raises(vmtp_flags.FlagError) as info:
        vmtp_flags.translate(shlex.split(args), None)
    assert "not supported by this command" in str(info.value) and says in str(info.value)
    assert "hunter2" not in str(info.value)


def test_a_multicast_group_adds_the_multicast_rows_as_in_vmtp() -> None:
    assert _argv("--multicast_addr 231.1.1.2") == ["--vmtp-protocols", "TUIM", "--vmtp-multicast-group", "231.1.1.2"]
    assert _argv("--protocols TM --multicast_addr 231.1.1.2") == [
        "--vmtp-protocols", "TM", "--vmtp-multicast-group", "231.1.1.2"]


def test_a_flag_whose_option_this_version_lacks_is_an_error() -> None:
    with pytest.raises(vmtp_flags.FlagError, match="this pytest-vmtp has no --vmtp-vnic-type yet"):
        vmtp_flags.translate(["--vnic-type", "direct"], {"--vmtp-time"})
    assert vmtp_flags.translate(["-t", "3"], {"--vmtp-time"}).argv() == ["--vmtp-time", "3"]


def test_unknown_flags_are_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert command.run(["--bogus"], environ={}) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


OPENRC = """\
#!/usr/bin/env bash
export OS_AUTH_URL=http://192.0.2.10:5000/v3
export OS_PROJECT_NAME="perf tests"
export OS_USER_DOMAIN_NAME="Default"
export OS_PROJECT_DOMAIN_ID=default
export OS_USERNAME=$LOGNAME_FOR_TESTS${USER_SUFFIX:-bob}
echo "Please enter your OpenStack Password for project $OS_PROJECT_NAME as user $OS_USERNAME: "
read -sr OS_PASSWORD_INPUT
export OS_PASSWORD=$OS_PASSWORD_INPUT
export OS_REGION_NAME="RegionOne"
if [ -z "$OS_REGION_NAME" ]; then unset OS_REGION_NAME; fi
export OS_INTERFACE=public
export OS_IDENTITY_API_VERSION=3
"""


def test_openrc_is_read_as_bash_reads_it_with_no_prompt(tmp_path: Path) -> None:
    rc = tmp_path / "openrc"
    rc.write_text(OPENRC)
    variables = read_openrc(rc)
    assert variables == {"OS_AUTH_URL": "http://192.0.2.10:5000/v3", "OS_PROJECT_NAME": "perf tests",
                         "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_ID": "default", "OS_USERNAME": "bob",
                         "OS_REGION_NAME": "RegionOne", "OS_INTERFACE": "public", "OS_IDENTITY_API_VERSION": "3"}
    env = {"PATH": "/usr/bin", "OS_PASSWORD": "s3cret", "OS_CLOUD": "other", "OS_AUTH_URL": "http://elsewhere"}
    cloud, child = command.credentials(str(rc), False, env)
    # The openrc's variables replace the environment's; the password comes from the environment.
    assert cloud == "envvars" and child["OS_PASSWORD"] == "s3cret" and "OS_CLOUD" not in child
    assert child["OS_AUTH_URL"] == "http://192.0.2.10:5000/v3" and child["PATH"] == "/usr/bin"
    with pytest.raises(command.CommandError, match="it sets no password .* export OS_PASSWORD .* drop --no-env"):
        command.credentials(str(rc), True, env)
    rc.write_text(OPENRC + "export OS_PASSWORD='p@ss word'\n")
    assert command.credentials(str(rc), True, {})[1]["OS_PASSWORD"] == "p@ss word"


def test_openrc_mistakes_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(OpenrcError, match="no such file"):
        read_openrc(tmp_path / "nope")
    rc = tmp_path / "openrc"
    rc.write_text("echo hello\n")
    with pytest.raises(OpenrcError, match="sets no OS_AUTH_URL"):
        read_openrc(rc)
    rc.write_text("export OS_AUTH_URL=http://x\nif then\n")
    with pytest.raises(OpenrcError, match="could not source it: .*syntax error"):
        read_openrc(rc)


def test_credentials_from_the_environment_and_none(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"OS_AUTH_URL": "http://x/v3", "OS_PASSWORD": "p", "OS_USERNAME": "u", "HOME": "/root"}
    assert command.credentials(None, False, env)[0] == "envvars"
    assert command.credentials(None, False, {"OS_CLOUD": "prod"})[0] == "prod"
    assert command.credentials(None, True, env) == (None, {"HOME": "/root"})
    with pytest.raises(command.CommandError, match="no password"):
        command.credentials(None, False, {"OS_AUTH_URL": "http://x/v3"})
    # No cloud at all: as VMTP, only native rows (with --host); with no host either, nothing.
    p = command.plan(["--host", "root@10.0.0.5", "--inter-node-only"], environ={}, check_options=False)
    assert p.argv[-2:] == ["-m", "(not intra_node) and (not cloud)"] and "--vmtp-cloud" not in p.argv
    assert command.run([], environ={}) == 0
    out = capsys.readouterr().out
    assert "Total Scenarios:   23" in out and "Skipped Scenarios: 23" in out and "no --host" in out
