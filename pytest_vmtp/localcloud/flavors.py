"""Nova's flavors: create and delete (admins only, as Nova's default policy), extra specs, and
the copy of its flavor a server keeps (Nova embeds the flavor in the instance: deleting a
flavor changes neither the servers booted from it nor what they count against the quotas).

Called with the state lock held. Errors are Nova's status codes and messages. Extra specs are
stored as given (strings): Nova validates their values only from microversion 2.86, above
this cloud's 2.79.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .common import new_id
from .errors import ApiError, nova
from .state import Resource

if TYPE_CHECKING:
    from .context import Cloud

# Nova's schema: a key of letters, digits and -_:. and blanks; a value of up to 255 characters.
_SPEC_KEY = re.compile(r"[a-zA-Z0-9-_:. ]{1,255}")
_MAX_SPEC_VALUE = 255


def get(c: Cloud, flavor_id: str) -> Resource:
    flavor = c.state.table("flavors").get(str(flavor_id))
    if flavor is None:
        raise nova(404, f"Flavor {flavor_id} could not be found.")
    return flavor


def _invalid(field: str, value: object) -> ApiError:
    return nova(400, f"Invalid input for field/attribute {field}. Value: {value}.")


def _whole(body: dict[str, Any], field: str, minimum: int, default: int | None = None) -> int:
    """An integer field (Nova also takes its digits as a string), at least `minimum`."""
    value = body.get(field, default)
    if isinstance(value, bool) or value is None:
        raise _invalid(field, value)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise _invalid(field, value) from None
    if number < minimum:
        raise _invalid(field, value)
    return number


def create(c: Cloud, body: dict[str, Any]) -> Resource:
    """POST /flavors: 400 for a bad field, 409 when the name or id is taken."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255 or name != name.strip():
        raise _invalid("name", name)
    flavor_id = body.get("id")
    if flavor_id is not None and (not isinstance(flavor_id, str) or not flavor_id.strip()
                                  or len(flavor_id) > 255):
        raise _invalid("id", flavor_id)
    public = body.get("os-flavor-access:is_public", True)
    if not isinstance(public, bool):
        raise _invalid("os-flavor-access:is_public", public)
    description = body.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 65535):
        raise _invalid("description", description)
    try:
        rxtx = float(body.get("rxtx_factor", 1.0))
    except (TypeError, ValueError):
        raise _invalid("rxtx_factor", body.get("rxtx_factor")) from None
    if rxtx <= 0:
        raise _invalid("rxtx_factor", rxtx)
    new = str(flavor_id or new_id())
    flavor: Resource = {
        "id": new, "name": name,
        "vcpus": _whole(body, "vcpus", 1), "ram": _whole(body, "ram", 1),
        "disk": _whole(body, "disk", 0), "ephemeral": _whole(body, "OS-FLV-EXT-DATA:ephemeral", 0, 0),
        "swap": _whole(body, "swap", 0, 0), "rxtx_factor": rxtx, "is_public": public,
        "description": description, "extra_specs": {},
    }
    table = c.state.table("flavors")
    if any(f["name"] == name for f in table.values()):
        raise nova(409, f"Flavor with name {name} already exists.")
    if new in table:
        raise nova(409, f"Flavor with ID {new} already exists.")
    table[new] = flavor
    return flavor


def delete(c: Cloud, flavor_id: str) -> None:
    get(c, flavor_id)
    del c.state.table("flavors")[str(flavor_id)]


def specs(flavor: Resource) -> dict[str, str]:
    """The flavor's extra specs (the bootstrap flavors have none)."""
    return flavor.setdefault("extra_specs", {})


def _spec_value(key: str, value: object) -> str:
    if isinstance(value, (dict, list)) or value is None or len(str(value)) > _MAX_SPEC_VALUE:
        raise _invalid("extra_specs", f"{{'{key}': {value!r}}}")
    return str(value).lower() if isinstance(value, bool) else str(value)


def set_specs(c: Cloud, flavor_id: str, wanted: object) -> dict[str, str]:
    """POST os-extra_specs: add or replace these keys; the flavor's whole set is returned."""
    flavor = get(c, flavor_id)
    if not isinstance(wanted, dict) or not wanted:
        raise _invalid("extra_specs", wanted)
    checked = {}
    for key, value in wanted.items():
        if not isinstance(key, str) or not _SPEC_KEY.fullmatch(key):
            raise _invalid("extra_specs", key)
        checked[key] = _spec_value(key, value)
    specs(flavor).update(checked)
    return checked


def get_spec(c: Cloud, flavor_id: str, key: str) -> str:
    value = specs(get(c, flavor_id)).get(key)
    if value is None:
        raise nova(404, f"Flavor {flavor_id} has no extra specs with key {key}.")
    return value


def update_spec(c: Cloud, flavor_id: str, key: str, body: object) -> dict[str, str]:
    """PUT os-extra_specs/<key> with {key: value}."""
    get(c, flavor_id)
    if not isinstance(body, dict) or key not in body:
        raise nova(400, "Request body and URI mismatch")
    if len(body) > 1:
        raise nova(400, "Request body contains too many items")
    return set_specs(c, flavor_id, body)


def delete_spec(c: Cloud, flavor_id: str, key: str) -> None:
    get_spec(c, flavor_id, key)
    del specs(get(c, flavor_id))[key]


def embedded(flavor: Resource) -> dict[str, Any]:
    """What a server keeps of its flavor (Nova's instance.flavor)."""
    return {"name": flavor["name"], "vcpus": flavor["vcpus"], "ram": flavor["ram"],
            "disk": flavor["disk"], "ephemeral": flavor.get("ephemeral", 0),
            "swap": flavor.get("swap", 0), "extra_specs": dict(flavor.get("extra_specs") or {})}


def of_server(c: Cloud, server: Resource) -> dict[str, Any]:
    """The server's flavor as it was booted (a server of an older snapshot: the table's)."""
    kept = server.get("_flavor_info")
    if kept:
        return dict(kept)
    flavor = c.state.table("flavors").get(server["_flavor"])
    return embedded(flavor) if flavor else {}
