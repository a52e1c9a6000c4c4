"""The network modes' pieces that need no cloud: the decision table, the settings and options
that choose a mode, and how they reach the topology's settings."""

from __future__ import annotations

import pytest

from pytest_vmtp import config
from pytest_vmtp.cloud.modes import (
    NEED_FLOATING_IP,
    NEED_NET2,
    NEED_SSH,
    Facts,
    NetworkPlan,
    Unavailable,
    decide,
)
from pytest_vmtp.cloud.settings import CloudSettings
from pytest_vmtp.run_cloud import cloud_settings, security_sources

NO_EXT = Unavailable("no external (router:external) network on this cloud: the floating-IP rows need one "
                     "(--vmtp-external-network)")
TYPO = Unavailable("external network 'pubic' not found: set --vmtp-external-network", fail=True)


def test_the_default_makes_everything_and_uses_floating_ips() -> None:
    plan = decide(Facts())
    assert (plan.ssh, plan.router, plan.gateway, plan.missing) == ("floating", "create", True, {})


def test_one_reused_network_is_network_1_only() -> None:
    plan = decide(Facts(reused_networks=("provider",)))
    assert plan.router == "none" and not plan.gateway and plan.ssh == "floating"
    assert plan.unavailable(NEED_NET2) == Unavailable(
        "--vmtp-network provider gives one network: the different-network rows need a second one "
        "(give --vmtp-network twice)")
    assert decide(Facts(reused_networks=("a", "b"))).unavailable(NEED_NET2) is None


def test_a_provider_network_without_router_reaches_the_fixed_ips() -> None:
    plan = decide(Facts(reused_networks=("provider",), router_problem="network provider is not behind a router"))
    assert plan.ssh == "fixed" and plan.unavailable(NEED_SSH) is None
    assert plan.unavailable(NEED_FLOATING_IP) == Unavailable("network provider is not behind a router")


def test_no_floating_ip_option() -> None:
    plan = decide(Facts(floating_ips_off=True))
    assert plan.ssh == "fixed" and plan.router == "create" and not plan.gateway
    assert plan.unavailable(NEED_FLOATING_IP) == Unavailable("floating IPs are off (--vmtp-no-floating-ip)")
    assert plan.unavailable(NEED_SSH) is None  # the user says this machine reaches the fixed IPs


def test_no_external_network_with_the_runs_own_networks() -> None:
    """Then SSH has no way to the VMs: every VM row skips, saying what would do."""
    plan = decide(Facts(external_problem=NO_EXT))
    assert plan.unavailable(NEED_FLOATING_IP) == NO_EXT and not plan.gateway
    ssh = plan.unavailable(NEED_SSH)
    assert ssh is not None and not ssh.fail
    assert ssh.reason.startswith(NO_EXT.reason) and "--vmtp-ssh-jump" in ssh.reason
    jumped = decide(Facts(external_problem=NO_EXT, ssh_jump="root@bastion"))
    assert jumped.ssh == "jump" and jumped.unavailable(NEED_SSH) is None and jumped.router == "create"


def test_a_named_external_network_that_is_missing_fails_in_its_own_words() -> None:
    plan = decide(Facts(external_problem=TYPO))
    assert plan.unavailable(NEED_SSH) == TYPO and plan.unavailable(NEED_FLOATING_IP) == TYPO
    assert decide(Facts(external_problem=TYPO, reused_networks=("p",))).unavailable(NEED_SSH) is None


def test_a_reused_router_is_not_given_a_gateway() -> None:
    plan = decide(Facts(reused_router="user-router", ssh_jump="u@h"))
    assert (plan.router, plan.gateway, plan.ssh) == ("reuse", False, "jump")


def test_plan_survives_json() -> None:
    plan = decide(Facts(reused_networks=("p",), external_problem=TYPO))
    assert NetworkPlan.from_json(plan.to_json()) == plan


def build(**overrides) -> config.VmtpConfig:
    return config.build(overrides)


def test_network_mode_options_reach_the_topology(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OS_CLOUD", raising=False)  # the local cloud
    key = tmp_path / "id"
    key.write_text("k")
    cfg = build(networks=["prov"], floating_ips=False, ssh_jump="root@192.0.2.9,key=/k",
                dns_nameservers="192.0.2.53, 192.0.2.54", availability_zone="az2",
                router="r", security_group="sg", key_pair="kp", private_key=str(key))
    settings = CloudSettings.from_dict(cloud_settings(cfg))
    assert settings.networks == ["prov"] and settings.availability_zone == "az2"
    assert settings.dns_nameservers == ["192.0.2.53", "192.0.2.54"]
    assert not settings.use_floating_ips and not settings.use_floating_ip_for_ssh
    assert settings.ssh_jump == "root@192.0.2.9,key=/k"
    assert (settings.router, settings.security_group, settings.key_pair, settings.private_key) == (
        "r", "sg", "kp", str(key))
    assert security_sources(cfg)["ssh_sources"] == ("0.0.0.0/0",)  # SSH comes from the jump host
    assert security_sources(build())["ssh_sources"] == ("this-machine",)  # the local cloud
    defaults = CloudSettings.from_dict(cloud_settings(build()))
    assert defaults.networks == [] and defaults.use_floating_ips and defaults.ssh_jump is None


@pytest.mark.parametrize(("overrides", "message"), [
    ({"networks": ["a", "b", "c"]}, "--vmtp-network: give at most 2 (network 1, network 2)"),
    ({"dns_nameservers": "8.8.8.8,dns.example"}, "--vmtp-dns-nameservers 'dns.example': not an IP address"),
    ({"key_pair": "kp"}, "key_pair and private_key go together"),
    ({"private_key": "/k"}, "key_pair and private_key go together"),
    ({"ssh_jump": "bastion"}, "--vmtp-ssh-jump 'bastion': bad host spec"),
    ({"floating_ips": "no"}, "floating_ips 'no': use true or false"),
    ({"router": ""}, "router '': give a name (or null)"),
])
def test_network_mode_mistakes_are_one_line(overrides, message) -> None:
    with pytest.raises(config.ConfigError) as info:
        build(**overrides)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
