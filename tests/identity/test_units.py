"""The pure parts of identity: the policy table's personas, Neutron's refusal wording,
Fernet tokens, password hashes, and the scheduler hints a member's placement relies on."""

from __future__ import annotations

import time

import pytest
from cryptography.fernet import Fernet

from pytest_vmtp.localcloud import keystone, policy, scheduler
from pytest_vmtp.localcloud.errors import ApiError
from pytest_vmtp.localcloud.policy import Caller
from pytest_vmtp.localcloud.tokens import TokenStore

ADMIN = Caller("u-admin", "p-admin", frozenset({"admin", "member", "reader"}))
MEMBER = Caller("u-demo", "p-demo", frozenset({"member", "reader"}))
READER = Caller("u-read", "p-demo", frozenset({"reader"}))


@pytest.mark.parametrize(("caller", "rule", "target", "allowed"), [
    (ADMIN, "os_compute_api:os-hypervisors:list", None, True),
    (MEMBER, "os_compute_api:os-hypervisors:list", None, False),
    (MEMBER, "os_compute_api:os-quota-sets:show", {"project_id": "p-demo"}, True),
    (MEMBER, "os_compute_api:os-quota-sets:show", {"project_id": "p-admin"}, False),
    (READER, "os_compute_api:os-quota-sets:show", {"project_id": "p-demo"}, True),
    (READER, "create_network", {"project_id": "p-demo"}, False),  # reader: no changes
    (MEMBER, "create_network", {"project_id": "p-demo"}, True),
    (MEMBER, "delete_network", {"project_id": "p-admin"}, False),
    (MEMBER, "identity:get_user", {"user_id": "u-demo"}, True),
    (MEMBER, "identity:get_user", {"user_id": "u-admin"}, False),
    (MEMBER, "os_compute_api:os-availability-zone:list", None, True),
])
def test_the_policy_personas(caller: Caller, rule: str, target: dict | None, allowed: bool) -> None:
    assert policy.allowed(caller, rule, target) is allowed


def test_refusals_are_worded_as_each_service_words_them() -> None:
    assert policy.forbidden("identity:create_user").body()[0] == {"error": {
        "code": 403, "title": "Forbidden",
        "message": "You are not authorized to perform the requested action: identity:create_user."}}
    assert policy.forbidden("os_compute_api:os-services:list").body()[0] == {"forbidden": {
        "code": 403, "message": "Policy doesn't allow os_compute_api:os-services:list to be performed."}}
    with pytest.raises(ApiError) as refused:
        policy.enforce_neutron(MEMBER, "create_network", "network",
                               {"shared": False, "router:external": True,
                                "provider:network_type": "flat"})
    assert refused.value.body()[0]["NeutronError"]["message"] == (
        "((rule:create_network and rule:create_network:router:external) and "
        "rule:create_network:provider:network_type) is disallowed by policy")
    policy.enforce_neutron(MEMBER, "create_network", "network", {"shared": False})  # default
    policy.enforce_neutron(ADMIN, "create_router", "router",
                           {"external_gateway_info": {"network_id": "x", "enable_snat": False}})
    with pytest.raises(ApiError, match="external_gateway_info:enable_snat"):
        policy.enforce_neutron(MEMBER, "create_router", "router",
                               {"external_gateway_info": {"network_id": "x", "enable_snat": False}})


def test_tokens_are_this_clouds_live_and_untampered() -> None:
    store = TokenStore(Fernet.generate_key(), lifetime=60)
    value, token = store.issue("u", "p", ("password",))
    assert store.read(value) == token
    assert TokenStore(Fernet.generate_key()).read(value) is None  # another cloud's key
    assert store.read(value[:-4] + "AAAA") is None
    assert store.read("") is None and store.read("not a token") is None
    short = TokenStore(Fernet.generate_key(), lifetime=0.2)
    brief, _ = short.issue("u", "p", ("password",))
    time.sleep(0.3)
    assert short.read(brief) is None
    capped, later = store.issue("u", None, ("token",), expires_at=token.issued_at + 5)
    assert later.expires_at == token.issued_at + 5 and store.read(capped).project_id is None


def test_password_hashes() -> None:
    hashed = keystone.hash_password("s3cret")
    assert hashed.startswith("$pbkdf2-sha512$25000$") and "s3cret" not in hashed
    assert keystone.check_password("s3cret", hashed)
    assert not keystone.check_password("s3cret ", hashed)
    assert keystone.hash_password("s3cret") != hashed  # salted
    for broken in (None, "", "$md5$x$y$z", "$pbkdf2-sha512$many$x$y"):
        assert not keystone.check_password("s3cret", broken)


def test_different_and_same_host_hints() -> None:
    servers = [{"id": "a", "OS-EXT-SRV-ATTR:host": "compute1"},
               {"id": "b", "OS-EXT-SRV-ATTR:host": "compute1"}]
    hosts = ["compute1", "compute2", "compute3"]
    # least loaded would pick compute2 anyway: load compute2 so that only the hint decides
    loaded = [*servers, {"id": "c", "OS-EXT-SRV-ATTR:host": "compute2"},
              {"id": "d", "OS-EXT-SRV-ATTR:host": "compute3"},
              {"id": "e", "OS-EXT-SRV-ATTR:host": "compute3"}]
    assert scheduler.pick(hosts, loaded, None, None, different_host=["c"]) == "compute1"
    assert scheduler.pick(hosts, loaded, None, None, different_host=["a", "c"]) == "compute3"
    assert scheduler.pick(hosts, loaded, None, None, same_host=["d"]) == "compute3"
    with pytest.raises(scheduler.NoValidHost):
        scheduler.pick(hosts, loaded, None, None, different_host=["a", "c", "d"])
    group = {"members": ["a"], "policy": "affinity"}
    with pytest.raises(scheduler.NoValidHost):
        scheduler.pick(hosts, loaded, None, group, different_host=["b"])
    assert scheduler.pick(hosts, servers, None, None, different_host=["gone"]) == "compute2"
