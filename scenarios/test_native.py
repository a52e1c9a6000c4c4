"""VMTP group 7: process-level throughput and latency between hosts reached over SSH."""

VMTP_KIND = "native"


def test_flow(vmtp_scenario, native_endpoints, vmtp_measure):
    vmtp_measure(native_endpoints)
