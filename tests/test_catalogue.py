"""The scenario catalogue is VMTP's summary table."""

import pytest

from pytest_vmtp.catalogue import catalogue, parse_protocols

VMTP_SAMPLE_TITLES = {  # from VMTP's package page (vmtp-pypi-page.txt)
    "1.1": "Same Network, Fixed IP, Intra-node, TCP",
    "2.2": "Same Network, Fixed IP, Inter-node, UDP",
    "4.1": "Different Network, Fixed IP, Inter-node, TCP",
    "5.3": "Different Network, Floating IP, Intra-node, ICMP",
    "6.3": "Different Network, Floating IP, Inter-node, ICMP",
    "7.2": "Native Throughput, UDP",
    "8.1": "VM to Host Uploading",
    "8.2": "VM to Host Downloading",
}


def test_twenty_three_rows_in_vmtp_order():
    rows = catalogue()
    assert len(rows) == 23
    assert [r.id for r in rows][:4] == ["1.1", "1.2", "1.3", "2.1"]
    assert rows[-1].id == "8.2"
    assert len({r.test_id for r in rows}) == 23


def test_titles_match_vmtp():
    by_id = {r.id: r.name for r in catalogue()}
    for sid, title in VMTP_SAMPLE_TITLES.items():
        assert by_id[sid] == title


def test_multicast_adds_x4_rows():
    rows = catalogue(multicast=True)
    x4 = [r.id for r in rows if r.id.endswith(".4")]
    assert x4 == ["1.4", "2.4", "3.4", "4.4", "5.4", "6.4", "7.4"]


def test_markers_and_ids_support_k_and_m():
    row = {r.id: r for r in catalogue()}["2.1"]
    assert row.test_id == "2.1-same_network-fixed_ip-inter_node-tcp"
    assert {"tcp", "inter_node", "same_network", "fixed_ip"} <= set(row.markers)
    assert "native" in {r.id: r for r in catalogue()}["7.3"].markers


@pytest.mark.parametrize("text,expected", [("TUI", ("tcp", "udp", "icmp")), ("im", ("icmp", "multicast"))])
def test_parse_protocols(text, expected):
    assert parse_protocols(text) == expected


@pytest.mark.parametrize("text", ["", "TX", "tcp"])
def test_parse_protocols_rejects(text):
    with pytest.raises(ValueError, match="T \\(TCP\\)"):
        parse_protocols(text)
