"""Multicast without a cloud: the parsers on captured outputs, the command lines, and which
tool measures it on which hosts.

Captured outputs (tests/data): nuttcp 6.1.2 is Debian 12's; nuttcp 8.1.4 was built from the
source VMTP ships (legal/nuttcp/nuttcp-8.1.4.c) and run between two namespaces with VMTP's own
options (-m32 -o -j -g231.1.1.1), with and without -v; iperf 2.1.8 is Debian 12's.
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_vmtp.measure.errors import MeasureError, ToolMissing
from pytest_vmtp.measure.local_runner import LocalRunner
from pytest_vmtp.measure.multicast import choose_tool
from pytest_vmtp.measure.parse_iperf2 import multicast_report, server_report_done
from pytest_vmtp.measure.parse_nuttcp import parse_nuttcp_fparse, parse_nuttcp_verbose
from pytest_vmtp.measure.probe import RunSpec
from pytest_vmtp.measure.runner import CommandResult
from pytest_vmtp.measure.settings import MeasureSettings
from pytest_vmtp.measure.tool_iperf2 import Iperf2
from pytest_vmtp.measure.tool_nuttcp import Nuttcp
from pytest_vmtp.report.data_column import data_for

from .conftest import data


def test_vmtp_read_max_jitter_from_nuttcps_brief_line() -> None:
    """VMTP's command (-j alone is -jx: max jitter only) prints msmaxjitter, no msavgjitter:
    reading msavgjitter recorded no jitter at all."""
    r = parse_nuttcp_fparse(data("nuttcp8_multicast_fparse.txt"))
    assert r.jitter_ms == 9.7194
    assert (r.drop, r.pkt, r.loss_rate) == (0, 2171, 0.0)


def test_nuttcp8_verbose_gives_receiver_figures_group_and_max_jitter() -> None:
    r = parse_nuttcp_verbose(data("nuttcp8_multicast_verbose.txt"))
    assert r.rate_mbps == 18.7382  # nuttcp-r's, not nuttcp-t's 18.6442
    assert (r.drop, r.pkt) == (0, 2276) and r.megabytes == 2.2227
    assert r.jitter_ms == 5.2774  # msmaxjitter, not msavgjitter=0.1047
    assert r.multicast_group == "231.1.1.1"


def test_nuttcp6_verbose_names_the_group_it_chose_and_has_no_jitter() -> None:
    """nuttcp 6.1.2 sends to 231 + the transmitter's low three address bytes."""
    r = parse_nuttcp_verbose(data("nuttcp6_multicast_verbose.txt"))
    assert r.multicast_group == "231.18.180.1"
    assert r.jitter_ms is None
    assert r.rate_mbps == 20.0930 and (r.drop, r.pkt) == (0, 2442)


def test_nuttcp6_receiver_that_reported_nothing_received_nothing() -> None:
    """Its receiver could not join (no route there): it prints no figures, while the
    transmitter's line says what was sent, which must not be read as received."""
    r = parse_nuttcp_verbose(data("nuttcp6_multicast_nothing.txt"))
    assert r.megabytes == 0 and r.rate_mbps == 0 and r.loss_rate is None


@pytest.mark.parametrize("name, message", [
    ("nuttcp6_multicast_unreachable.txt", "Network is unreachable"),
    ("nuttcp8_multicast_old_server.txt", "multicast group option not supported by server version 6.1.2"),
    ("nuttcp8_multicast_bad_group.txt", "use 231.x.y.z"),
])
def test_nuttcp_multicast_errors_are_one_line(name: str, message: str) -> None:
    with pytest.raises(MeasureError, match=message) as exc:
        parse_nuttcp_verbose(data(name))
    assert "\n" not in str(exc.value)


def test_iperf2_multicast_server_report() -> None:
    """Interval reports every 0.5 s (here 1 s), then the whole run's: figures from that one,
    jitter the largest of the intervals', the group from its destination."""
    log = data("iperf2_multicast_server.csv")
    assert server_report_done(log, intervals=True)
    assert not server_report_done(log.splitlines()[0], intervals=True)  # an interval only
    r = multicast_report(log)
    assert r.group == "231.1.1.1" and (r.lost, r.total) == (0, 4885)
    assert r.throughput_kbps == round(20007149 / 1000) and r.jitter_ms == 0.002


def _result(text: str, code: int = 0) -> CommandResult:
    return CommandResult("x", code, text, "")


def test_nuttcp_commands_and_outcomes_by_version() -> None:
    settings = MeasureSettings(multicast_group="231.1.1.1")
    spec = RunSpec("Multicast", "198.18.180.2", 1, 1024, 20_000, multicast_group="231.1.1.1")
    new = Nuttcp(settings, "nuttcp-8.1.4")
    assert new.client_command(spec) == ("nuttcp -v -T1 -p5001 -P5002 -fparse -u -m32 -o -j -g231.1.1.1 "
                                        "-l1024 -R20000K 198.18.180.2")
    out = new.parse(spec, _result(data("nuttcp8_multicast_verbose.txt")), "")
    assert (out.jitter_ms, out.multicast_group, out.loss_rate) == (5.2774, "231.1.1.1", 0.0)
    old = Nuttcp(settings, "nuttcp-6.1.2")
    assert old.client_command(spec) == "nuttcp -v -T1 -p5001 -P5002 -fparse -u -m32 -l1024 -R20000K 198.18.180.2"
    out = old.parse(spec, _result(data("nuttcp6_multicast_verbose.txt")), "")
    assert (out.jitter_ms, out.multicast_group) == (None, "231.18.180.1")
    # A newer client talking to an older server must not be given -g/-j (it refuses them).
    assert "-g" not in Nuttcp(settings, "nuttcp-8.1.4", multicast_group=False).client_command(spec)
    with pytest.raises(MeasureError, match=r"^multicast group 239.1.1.1: nuttcp-8.1.4 sends only to 231.x.y.z"):
        new.client_command(replace(spec, multicast_group="239.1.1.1"))


def test_iperf2_multicast_commands() -> None:
    tool = Iperf2(MeasureSettings(multicast_group="239.1.2.3"), "iperf-2.1.8")
    assert tool.server_command("Multicast") == "iperf -s -u -B 239.1.2.3 -p 5001 -l 65507 -i 0.5 -y C"
    assert tool.server_command("UDP") == "iperf -s -u -l 65507 -p 5001 -y C"
    spec = RunSpec("Multicast", "198.18.180.2", 2, 1024, 20_000, multicast_group="239.1.2.3")
    assert tool.client_command(spec) == "iperf -c 239.1.2.3 -p 5001 -t 2 -y C -T 32 -u -b 20000000 -l 1024"
    assert tool.listen_port("Multicast") == (5001, "udp")
    out = tool.parse(spec, _result(data("iperf2_multicast_client.csv")), data("iperf2_multicast_server.csv"))
    assert (out.multicast_group, out.loss_rate, out.jitter_ms) == ("231.1.1.1", 0.0, 0.002)
    nothing = tool.parse(spec, _result(data("iperf2_multicast_client.csv")), data("iperf2_multicast_join_failed.txt"))
    assert nothing.rx_bytes == 0  # no report: nothing of the group arrived


# Stand-ins for tools that cannot exist on this Debian 12 machine (its nuttcp is 6.1.2):
# they answer `-V` as nuttcp 8.1.4 does. Which tool is picked depends on nothing else.
NUTTCP8 = "#!/bin/sh\necho nuttcp-8.1.4\n"


def _host(tmp_path: Path, name: str, tools: dict[str, str | None]) -> LocalRunner:
    """A host whose PATH holds exactly `tools`: a script's text, or None for this machine's."""
    bin_dir = tmp_path / name
    bin_dir.mkdir()
    for tool, script in tools.items():
        if script is None:
            (bin_dir / tool).symlink_to(f"/usr/bin/{tool}")
        else:
            (bin_dir / tool).write_text(script)
            (bin_dir / tool).chmod(stat.S_IRWXU)
    runner = LocalRunner(env={"PATH": f"{bin_dir}:/nonexistent", "HOME": os.environ.get("HOME", "/")})
    runner.label = f"{tmp_path.name}-{name}"  # tool versions are cached per host label
    return runner


@pytest.mark.parametrize("client_tools, server_tools, settings, tool, note", [
    # both ends 7.2.1+: VMTP's own measurement
    ({"nuttcp": NUTTCP8, "iperf": None}, {"nuttcp": NUTTCP8}, {}, "nuttcp-8.1.4", None),
    # Debian 12's nuttcp: iperf 2 sends to the group and measures jitter
    ({"nuttcp": None, "iperf": None}, {"nuttcp": None, "iperf": None}, {}, "iperf-2.1.8",
     "measured with iperf-2.1.8: nuttcp-6.1.2 cannot send to a chosen group nor measure jitter"),
    # one old end is enough to lose -g and -j
    ({"nuttcp": NUTTCP8, "iperf": None}, {"nuttcp": None, "iperf": None}, {}, "iperf-2.1.8",
     "measured with iperf-2.1.8: nuttcp-6.1.2 cannot"),
    ({"nuttcp": NUTTCP8, "iperf": None}, {"nuttcp": NUTTCP8, "iperf": None}, {"multicast_group": "239.1.1.1"},
     "iperf-2.1.8", "measured with iperf-2.1.8: nuttcp sends only to 231.x.y.z groups, not 239.1.1.1"),
    ({"iperf": None}, {"iperf": None}, {}, "iperf-2.1.8", "measured with iperf-2.1.8: nuttcp is not on host"),
    # no iperf 2: old nuttcp, saying what it could not do
    ({"nuttcp": None}, {"nuttcp": None}, {}, "nuttcp-6.1.2",
     "nuttcp-6.1.2 has neither -g nor -j (nuttcp 7.2.1+): it sent to a group of its own, not 231.1.1.1"),
    ({"nuttcp": None, "iperf": None}, {"nuttcp": None, "iperf": None}, {"multicast_tool": "nuttcp"},
     "nuttcp-6.1.2", "nuttcp-6.1.2 has neither"),
    ({"nuttcp": NUTTCP8, "iperf": None}, {"nuttcp": NUTTCP8, "iperf": None}, {"multicast_tool": "iperf"},
     "iperf-2.1.8", None),
    ({"nuttcp": NUTTCP8, "iperf": None}, {"nuttcp": NUTTCP8, "iperf": None}, {"tool": "iperf"},
     "iperf-2.1.8", None),
])
def test_which_tool_measures_multicast(tmp_path, client_tools, server_tools, settings, tool, note) -> None:
    client, server = _host(tmp_path, "client", client_tools), _host(tmp_path, "server", server_tools)
    chosen = choose_tool(client, server, replace(MeasureSettings(), **settings))
    assert chosen.tool.version == tool
    assert (chosen.note or "").startswith(note or "") and (chosen.note is None) == (note is None)


def test_no_multicast_tool_is_one_line(tmp_path) -> None:
    client, server = _host(tmp_path, "client", {"iperf3": None}), _host(tmp_path, "server", {"nuttcp": None})
    none = r"^multicast needs nuttcp or iperf \(2\) on both hosts; neither is on host .*client"
    with pytest.raises(ToolMissing, match=none):
        choose_tool(client, server, MeasureSettings())
    with pytest.raises(ToolMissing, match=r"^multicast_tool iperf: iperf not found on host .*server: install it"):
        choose_tool(server, server, MeasureSettings(multicast_tool="iperf"))


def _item(**kw):
    base = {"protocol": "Multicast", "pkt_size": 1024, "throughput_kbps": 20000, "loss_rate": 0.0,
            "multicast_group_asked": "231.1.1.1"}
    return {**base, **kw}


def test_multicast_cell_says_what_the_tool_could_not_do() -> None:
    vmtp = _item(tool="nuttcp-8.1.4", jitter=5.2774, jitter_kind="max", multicast_group="231.1.1.1")
    assert data_for("multicast", [vmtp]) == {1024: {"tp_kbps": 20000, "loss_rate": 0.0, "jitter": 5.2774}}
    old = _item(tool="nuttcp-6.1.2", multicast_group="231.18.180.1", note="nuttcp-6.1.2 has neither ...")
    assert data_for("multicast", [old]) == {1024: {
        "tp_kbps": 20000, "loss_rate": 0.0, "jitter": "not measured", "group": "231.18.180.1, not 231.1.1.1"}}
    iperf = _item(tool="iperf-2.1.8", jitter=0.002, jitter_kind="max-interval", multicast_group="231.1.1.1")
    assert data_for("multicast", [iperf])[1024]["tool"] == "iperf-2.1.8"
