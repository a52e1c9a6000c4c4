"""Transient API failures are retried within bounds, creates are never made twice, permanent
errors and hung calls are one line: openstacksdk over HTTP against a local cloud of the module's
own (prefix vm8b, 198.18.206-207.0/24) that injects the faults (its /admin/faults)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pytest_vmtp.cloud import naming
from pytest_vmtp.cloud.cleanup import cleanup
from pytest_vmtp.cloud.connect import connect
from pytest_vmtp.cloud.errors import CloudError, cloud_errors
from pytest_vmtp.cloud.resources import Maker
from pytest_vmtp.cloud.retry import RetryPolicy
from pytest_vmtp.cloud.settings import CloudSettings
from tests.support.own_cloud import own_cloud

PREFIX = "vm8b"
MGMT_CIDR, EXTERNAL_CIDR = "198.18.206.0/24", "198.18.207.0/24"
QUICK = RetryPolicy(api_retries=3, api_retry_budget_s=20, api_retry_after_max_s=2, api_timeout_s=5)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    state = tmp_path_factory.mktemp("lc")
    with own_cloud(state, PREFIX, MGMT_CIDR, EXTERNAL_CIDR) as handle:
        yield handle


class Seen(list):
    """The retry notes a connection gave (what the run shows live)."""

    def __call__(self, message: str) -> None:
        self.append(message)


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def conn(cloud, seen) -> Iterator[Any]:
    connection = connect("local", str(cloud.clouds_yaml), QUICK, seen)
    yield connection
    faults(cloud, connection, {})
    connection.close()


def faults(cloud, connection, doc: dict[str, Any]) -> None:
    answer = requests.post(f"http://127.0.0.1:{cloud.port}/admin/faults", json=doc, timeout=10,
                           headers={"X-Auth-Token": connection.session.get_token()})
    assert answer.status_code == 200, answer.text


def timed(fn) -> tuple[Any, float]:
    start = time.monotonic()
    return fn(), time.monotonic() - start


def test_503_and_429_are_retried_after_their_retry_after(cloud, conn, seen) -> None:
    faults(cloud, conn, {"api_errors": [
        {"method": "GET", "path": r"/v2\.0/networks$", "status": 503, "retry_after": 1, "count": 2},
        {"method": "GET", "path": r"/flavors/detail$", "status": 429, "retry_after": 1, "count": 1}]})
    networks, took = timed(lambda: list(conn.network.networks()))
    assert networks and 2 <= took < 4, took
    assert seen == ["cloud API: GET /network/v2.0/networks: HTTP 503; retry 1 of 3 in 1.0 s",
                    "cloud API: GET /network/v2.0/networks: HTTP 503; retry 2 of 3 in 1.0 s"]
    assert list(conn.compute.flavors())


def test_a_long_retry_after_is_cut_to_the_cap(cloud, conn, seen) -> None:
    faults(cloud, conn, {"api_errors": [
        {"method": "GET", "path": r"/v2\.0/routers$", "status": 503, "retry_after": 3600, "count": 1}]})
    _, took = timed(lambda: list(conn.network.routers()))
    assert 2 <= took < 4 and seen == ["cloud API: GET /network/v2.0/routers: HTTP 503; retry 1 of 3 in 2.0 s"]


def test_resets_of_reads_and_deletes_are_retried(cloud, conn, seen) -> None:
    net = conn.network.create_network(name="rt-reset")
    faults(cloud, conn, {"api_errors": [
        {"method": "GET", "path": r"/v2\.0/ports$", "reset": True, "count": 2},
        {"method": "DELETE", "path": r"/v2\.0/networks/", "reset": True, "count": 1}]})
    assert list(conn.network.ports()) is not None
    conn.network.delete_network(net.id)
    assert [m.split(";")[0] for m in seen] == ["cloud API: GET /network/v2.0/ports: connection reset"] * 2 + [
        f"cloud API: DELETE /network/v2.0/networks/{net.id}: connection reset"]
    assert conn.network.find_network("rt-reset") is None


def test_a_transient_failure_that_lasts_is_one_line_saying_so(cloud, conn) -> None:
    faults(cloud, conn, {"api_errors": [
        {"method": "GET", "path": r"/v2\.0/networks$", "status": 503, "count": "all"}]})
    with pytest.raises(CloudError) as info:
        with cloud_errors("listing networks"):
            list(conn.network.networks())
    assert str(info.value) == "listing networks failed (HTTP 503): Injected fault (still failing after 4 tries)"


def test_a_hung_call_ends_at_api_timeout(cloud, seen) -> None:
    policy = RetryPolicy(api_retries=1, api_retry_budget_s=10, api_retry_after_max_s=1, api_timeout_s=1)
    connection = connect("local", str(cloud.clouds_yaml), policy, seen)
    try:
        faults(cloud, connection, {"api_errors": [{"method": "GET", "path": r"/v2\.0/subnets$", "delay_s": 5,
                                                   "count": "all"}]})
        with pytest.raises(CloudError) as info:
            with cloud_errors("listing subnets"):
                timed(lambda: list(connection.network.subnets()))
        assert str(info.value) == ("the API did not answer within 1 s while listing subnets, every retry too: "
                                   "timed out (raise api_timeout_s if the cloud is just slow)")
    finally:
        faults(cloud, connection, {})
        connection.close()


def test_a_permanent_error_is_not_retried(cloud, conn, seen) -> None:
    faults(cloud, conn, {"api_errors": [{"method": "POST", "path": r"/v2\.0/routers$", "status": 400,
                                         "message": "Invalid input for name.", "count": 1}]})
    with pytest.raises(CloudError) as info:
        Maker(conn, "abcdef1").router(None)
    assert str(info.value) == "creating router vmtp-abcdef1-router failed (HTTP 400): Invalid input for name."
    assert seen == []


@pytest.mark.parametrize("after_commit", [False, True], ids=["lost-on-the-way-in", "made-then-lost"])
def test_a_create_whose_answer_is_lost_is_made_once(cloud, conn, seen, after_commit: bool) -> None:
    """Reset before the cloud acted: made on the next try. Reset after it acted (the answer
    lost on the way back): found by its name, not made again. Either way: exactly one."""
    run_id = "abcdef2" if after_commit else "abcdef3"
    maker = Maker(conn, run_id)
    faults(cloud, conn, {"api_errors": [
        {"method": "POST", "path": r"/v2\.0/networks$", "reset": True, "after_commit": after_commit, "count": 1},
        {"method": "POST", "path": r"/v2\.0/subnets$", "status": 503, "after_commit": after_commit, "count": 1},
        {"method": "PUT", "path": r"/add_router_interface$", "reset": True, "after_commit": after_commit,
         "count": 1}]})
    router = maker.router(None)
    net, subnet, _ = maker.network("net1", "10.8.0.0/24", CloudSettings(), router.id)
    assert [n.id for n in conn.network.networks(name=naming.name(run_id, "net1"))] == [net.id]
    assert [s.id for s in conn.network.subnets(network_id=net.id)] == [subnet.id]
    interfaces = [p for p in conn.network.ports(device_id=router.id) if p.device_id == router.id]
    assert len(interfaces) == 1
    found = [m for m in seen if "found what the failed try had made" in m]
    assert len(found) == (3 if after_commit else 0), seen
    assert len([m for m in seen if "try 2 of 4" in m]) == 3, seen
    assert len(cleanup(conn, run_id)) == 4  # interface, router, subnet, network: nothing twice


def test_a_server_create_refused_with_429_is_retried_once_made(cloud, conn, seen) -> None:
    net = conn.network.create_network(name="rt-srv")
    conn.network.create_subnet(network_id=net.id, cidr="10.9.0.0/24", ip_version=4)
    image = conn.image.find_image("vmtp-local", ignore_missing=False)
    faults(cloud, conn, {"api_errors": [
        {"method": "POST", "path": r"/servers$", "status": 429, "retry_after": 1, "count": 1},
        {"method": "POST", "path": r"/servers$", "status": 503, "after_commit": True, "count": 1}]})
    try:
        server = Maker(conn, "abcdef4").server("same_intra", image.id, "10", net.id, "", "default", None, None)
        names = [s.name for s in conn.compute.servers()]
        assert names.count("vmtp-abcdef4-same-intra") == 1 and server.name == "vmtp-abcdef4-same-intra"
        assert [m.split(":")[2].strip() for m in seen][:2] == ["HTTP 429; try 2 of 4 in 1.0 s",
                                                                "HTTP 503; try 3 of 4 in 1.0 s"]
    finally:
        cleanup(conn, "abcdef4")
        conn.network.delete_network(net.id)


def test_cleanup_rides_over_503_and_resets(cloud, conn, seen) -> None:
    maker = Maker(conn, "abcdef5")
    router = maker.router(None)
    maker.network("net1", "10.10.0.0/24", CloudSettings(), router.id)
    faults(cloud, conn, {"api_errors": [
        {"method": "DELETE", "path": r"/v2\.0/routers/", "status": 503, "retry_after": 1, "count": 2},
        {"method": "PUT", "path": r"/remove_router_interface$", "reset": True, "after_commit": True, "count": 1}]})
    deleted = cleanup(conn, "abcdef5")
    assert "router vmtp-abcdef5-router" in deleted and "network vmtp-abcdef5-net1" in deleted
    assert not [n for n in conn.network.networks() if (n.name or "").startswith("vmtp-abcdef5")]
