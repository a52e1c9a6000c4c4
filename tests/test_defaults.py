"""defaults.yaml is the one table of defaults: the settings classes read it, never repeat it."""

from __future__ import annotations

import ast
import dataclasses
import inspect

import pytest

from pytest_vmtp import defaults
from pytest_vmtp.cloud.settings import DEFAULT_FLAVOR, CloudSettings, FlavorSpec
from pytest_vmtp.measure.gmond import HostCpu
from pytest_vmtp.measure.settings import MeasureSettings

# Settings fields named differently from their defaults.yaml key.
RENAMED = {"use_floating_ips": "floating_ips", "interval_s": "gmond_interval_s",
           "max_samples": "gmond_max_samples", "timeout_s": "gmond_timeout_s"}


def _field_defaults(cls: type) -> dict[str, ast.expr]:
    """Each annotated field's default expression, as written in the class body."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0]
    assert isinstance(body, ast.ClassDef)
    return {node.target.id: node.value for node in body.body
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None}


@pytest.mark.parametrize("cls", [MeasureSettings, CloudSettings, HostCpu])
def test_settings_read_their_defaults_from_defaults_yaml(cls):
    table = defaults.table()
    # A key whose default is "unset" (null, []) may stay None/empty in the class: nothing repeated.
    # A mapping (flavor) is parsed into an immutable value: test_the_flavor_default below.
    shared = {name: RENAMED.get(name, name) for name in _field_defaults(cls)
              if table.get(RENAMED.get(name, name)) not in (None, [])
              and not isinstance(table.get(RENAMED.get(name, name)), dict)}
    assert len(shared) >= 3, shared
    for name, key in shared.items():
        expr = _field_defaults(cls)[name]
        reads = (isinstance(expr, ast.Call) and getattr(expr.func, "id", "") == "value"
                 and isinstance(expr.args[0], ast.Constant) and expr.args[0].value == key)
        assert reads, f"{cls.__name__}.{name} repeats a default: write value({key!r})"
        field = next(f for f in dataclasses.fields(cls) if f.name == name)
        wanted = table[key]
        assert field.default == (tuple(wanted) if isinstance(wanted, list) else wanted)


def test_the_table_is_a_private_copy():
    first = defaults.table()
    first["tool"] = "changed"
    first["gate"]["thresholds"]["tp_kbps"] = "-99%"
    assert defaults.table()["tool"] == "nuttcp"
    assert defaults.table()["gate"]["thresholds"]["tp_kbps"] == "-10%"


def test_the_flavor_default_is_the_tables():
    """defaults.yaml's flavor mapping: its name, and the spec a missing flavor is made from."""
    table = defaults.table()["flavor"]
    assert CloudSettings().flavor == table["name"] == DEFAULT_FLAVOR.name
    assert CloudSettings().flavor_spec == DEFAULT_FLAVOR == FlavorSpec.parse(table)
    assert DEFAULT_FLAVOR.to_json() == {**table, "extra_specs": dict(table["extra_specs"])}
    for name in ("flavor", "flavor_spec"):  # read from it, not repeated
        expr = _field_defaults(CloudSettings)[name]
        assert "DEFAULT_FLAVOR" in ast.unparse(expr)
