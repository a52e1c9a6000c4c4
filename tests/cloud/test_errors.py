"""One clear line for the mistakes users make, against the real local cloud."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_vmtp.cloud import CloudError, Topology, connect

from .conftest import local_settings
from .inventory import inventory


def test_unknown_cloud(cloud_env):
    with pytest.raises(CloudError, match=r"^cloud 'prod' not found in clouds.yaml \(searched: .*known clouds: "
                                         r".*local.*\): check --vmtp-cloud$"):
        connect("prod")


def test_bad_password(localcloud: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data = yaml.safe_load(localcloud.read_text())
    data["clouds"]["local"]["auth"]["password"] = "wrong-secret-xyz"
    copy = tmp_path / "clouds.yaml"
    copy.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(copy))
    with pytest.raises(CloudError) as info:
        connect("local")
    msg = str(info.value)
    assert msg.startswith("cloud 'local': authentication failed at http://127.0.0.1") and "(HTTP 401)" in msg
    assert "wrong-secret" not in msg and "\n" not in msg


@pytest.mark.parametrize("setting, expected", [
    ({"image": "no-such-image"}, "image 'no-such-image' not found: upload it, give --vmtp-image-url, or set "
                                 "--vmtp-image"),
    ({"external_network": "no-such-net"}, "external network 'no-such-net' not found: set --vmtp-external-network"),
])
def test_missing_image_flavor_network(conn, run_id: str, tmp_path: Path, setting, expected):
    topo = Topology(conn, local_settings(**setting), run_id, tmp_path)
    with pytest.raises(CloudError) as info:
        topo.vm("server")
    assert str(info.value) == expected
    assert inventory(conn, run_id)["servers"] == []  # failed before booting anything


def test_os_cloud_and_openrc_variables(localcloud: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """connect(None) follows OS_CLOUD, and without clouds.yaml, the OS_* variables of an openrc."""
    monkeypatch.setenv("OS_CLOUD", "local")
    assert connect(None).config.name == "local"
    auth = yaml.safe_load(localcloud.read_text())["clouds"]["local"]["auth"]
    monkeypatch.delenv("OS_CLOUD")
    empty = tmp_path / "clouds.yaml"
    empty.write_text("clouds: {}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(empty))
    monkeypatch.chdir(tmp_path)
    for key, value in auth.items():
        monkeypatch.setenv(f"OS_{key.upper()}", str(value))
    conn = connect(None)
    assert conn.config.name == "envvars" and conn.compute.get_endpoint_data().api_version[0] == 2


def test_explicit_clouds_yaml(localcloud: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """connect(name, config_file=...) reads that file, whatever the environment says."""
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "absent.yaml"))
    assert connect("local", config_file=str(localcloud)).config.name == "local"
    with pytest.raises(CloudError, match=rf"^cloud 'prod' not found in clouds.yaml \(searched: {localcloud}; "
                                         r"known clouds: local, local-member\): check --vmtp-cloud$"):
        connect("prod", config_file=str(localcloud))
    with pytest.raises(CloudError, match="absent.yaml: file not found"):
        connect("local", config_file=str(tmp_path / "absent.yaml"))
