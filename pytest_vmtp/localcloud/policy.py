"""Who may do what: upstream's default policies (Keystone, Nova, Neutron) as one table.

A request's Caller comes from its token (api/base.py's guard puts it in flask.g): the user,
the project the token is scoped to and the roles the user has there (implied roles included,
as Keystone puts them in the token: admin -> member -> reader). Each rule below is the
default check string of the same name upstream (keystone/common/policies, nova/policies,
neutron/conf/policies), reduced to the personas this cloud has:

  ADMIN          role:admin (Nova's and Neutron's ADMIN, Keystone's admin_required)
  PROJECT_MEMBER role:member on the target's project (or ADMIN)
  PROJECT_READER role:reader on the target's project (or ADMIN)
  SELF           the target user is the caller (or ADMIN)
  ANY            any valid token ("@")

A refused call gets the 403 its service sends, in that service's words and body: Keystone's
"You are not authorized to perform the requested action: identity:create_user.", Nova's
"Policy doesn't allow os_compute_api:os-hypervisors:list to be performed.", Neutron's
"(rule:create_network and rule:create_network:router:external) is disallowed by policy".
What a caller may not see at all (another project's server, port, router ...) is not refused
but not found (404), as upstream's project-scoped queries make it; see visible().
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

ADMIN, PROJECT_MEMBER, PROJECT_READER, SELF, ANY = ("admin", "project_member", "project_reader",
                                                    "self", "any")

RULES: dict[str, str] = {
    # Keystone (keystone/common/policies/*.py)
    "identity:create_user": ADMIN, "identity:update_user": ADMIN, "identity:delete_user": ADMIN,
    "identity:list_users": ADMIN, "identity:get_user": SELF,
    "identity:list_user_projects": SELF,
    "identity:create_project": ADMIN, "identity:update_project": ADMIN,
    "identity:delete_project": ADMIN, "identity:list_projects": ADMIN,
    "identity:get_project": PROJECT_READER,
    "identity:create_role": ADMIN, "identity:update_role": ADMIN, "identity:delete_role": ADMIN,
    "identity:list_roles": ADMIN, "identity:get_role": ADMIN,
    "identity:create_grant": ADMIN, "identity:revoke_grant": ADMIN,
    "identity:check_grant": ADMIN, "identity:list_grants": ADMIN,
    "identity:list_role_assignments": ADMIN, "identity:list_implied_roles": ADMIN,
    "identity:list_domains": ADMIN, "identity:get_domain": ANY,  # own domain: all users here
    "identity:validate_token": SELF, "identity:check_token": SELF,
    "identity:revoke_token": SELF,
    # Nova (nova/policies/*.py)
    "os_compute_api:os-hypervisors:list": ADMIN,
    "os_compute_api:os-hypervisors:list-detail": ADMIN,
    "os_compute_api:os-hypervisors:show": ADMIN,
    "os_compute_api:os-hypervisors:search": ADMIN,
    "os_compute_api:os-services:list": ADMIN,
    "os_compute_api:os-availability-zone:list": ANY,
    "os_compute_api:os-availability-zone:detail": ADMIN,
    "os_compute_api:servers:create:forced_host": ADMIN,
    "os_compute_api:servers:index:get_all_tenants": ADMIN,
    "os_compute_api:servers:detail:get_all_tenants": ADMIN,
    "os_compute_api:os-extended-server-attributes": ADMIN,
    "os_compute_api:servers:show:host_status": ADMIN,
    "os_compute_api:os-server-groups:index:all_projects": ADMIN,
    "os_compute_api:os-quota-sets:show": PROJECT_READER,
    "os_compute_api:os-quota-sets:detail": PROJECT_READER,
    "os_compute_api:os-quota-sets:update": ADMIN,
    "os_compute_api:os-flavor-manage:create": ADMIN, "os_compute_api:os-flavor-manage:delete": ADMIN,
    "os_compute_api:os-flavor-extra-specs:create": ADMIN,
    "os_compute_api:os-flavor-extra-specs:update": ADMIN,
    "os_compute_api:os-flavor-extra-specs:delete": ADMIN,
    # Glance (glance/policies/image.py): making an image public
    "publicize_image": ADMIN,
    # Neutron (neutron/conf/policies/*.py): the attributes only an admin may set or see
    **{f"{action}_{resource}": PROJECT_MEMBER for action in ("create", "update", "delete")
       for resource in ("network", "subnet", "port", "router", "floatingip", "security_group",
                        "security_group_rule")},
    "add_router_interface": PROJECT_MEMBER, "remove_router_interface": PROJECT_MEMBER,
    "create_network:shared": ADMIN, "create_network:router:external": ADMIN,
    "create_network:provider:network_type": ADMIN,
    "create_network:provider:physical_network": ADMIN,
    "create_network:provider:segmentation_id": ADMIN, "create_network:is_default": ADMIN,
    "update_network:shared": ADMIN,
    "update_network:router:external": ADMIN,
    "get_network:provider:network_type": ADMIN, "get_network:provider:physical_network": ADMIN,
    "get_network:provider:segmentation_id": ADMIN,
    "create_port:binding:host_id": ADMIN, "create_port:binding:profile": ADMIN,
    "update_port:binding:host_id": ADMIN,
    "update_port:binding:profile": ADMIN,
    "get_port:binding:host_id": ADMIN, "get_port:binding:profile": ADMIN,
    "get_port:binding:vif_type": ADMIN, "get_port:binding:vif_details": ADMIN,
    "create_router:external_gateway_info:external_fixed_ips": ADMIN,
    "create_router:external_gateway_info:enable_snat": ADMIN,
    "update_router:external_gateway_info:external_fixed_ips": ADMIN,
    "update_router:external_gateway_info:enable_snat": ADMIN,
    "create_floatingip:floating_ip_address": ADMIN,
    "get_quota": PROJECT_READER, "update_quota": ADMIN,
    "get_agent": ADMIN,  # a member's GET /v2.0/agents lists none; GET /v2.0/agents/<id> is 404
    # the local cloud's own fault injection (not OpenStack)
    "localcloud:faults": ADMIN,
}

# Attributes with a rule of their own, in the order Neutron's attribute map checks them.
NEUTRON_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "network": ("shared", "router:external", "provider:network_type",
                "provider:physical_network", "provider:segmentation_id", "is_default"),
    "port": ("binding:host_id", "binding:profile"),
    "floatingip": ("floating_ip_address",),
}
NEUTRON_DEFAULTS: dict[str, object] = {"shared": False, "router:external": False,
                                       "is_default": False}  # set only when not the default
NEUTRON_HIDDEN: dict[str, tuple[str, ...]] = {  # fields only get_<resource>:<field> admins see
    "networks": ("provider:network_type", "provider:physical_network",
                 "provider:segmentation_id"),
    "ports": ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details"),
}


@dataclass(frozen=True)
class Caller:
    """Who makes a request: from the token, never from the request body."""

    user_id: str
    project_id: str
    roles: frozenset[str]
    user_name: str = ""
    project_name: str = ""

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def owns(self, item: Mapping[str, Any]) -> bool:
        """Is the resource (a Neutron/Nova/Keystone dict) of the caller's project?"""
        project = item.get("project_id", item.get("tenant_id"))
        return project == self.project_id


def allowed(caller: Caller, rule: str, target: Mapping[str, Any] | None = None) -> bool:
    """Does the rule (a RULES name) let the caller act on target (project_id, user_id)?"""
    kind = RULES[rule]
    target = target or {}
    if kind == ANY or caller.is_admin:
        return True
    if kind == ADMIN:
        return False
    if kind == SELF:
        return target.get("user_id") == caller.user_id
    role = "member" if kind == PROJECT_MEMBER else "reader"
    return role in caller.roles and target.get("project_id", caller.project_id) == caller.project_id


def enforce(caller: Caller, rule: str, target: Mapping[str, Any] | None = None) -> None:
    """The service's 403 unless the rule allows the call."""
    if not allowed(caller, rule, target):
        raise forbidden(rule)


def forbidden(rule: str) -> ApiError:
    """A refusal as the rule's service words it."""
    if rule.startswith("identity:") or rule.startswith("localcloud:"):
        return ApiError(403, f"You are not authorized to perform the requested action: {rule}.",
                        service="identity")
    if rule.startswith("os_compute_api:"):
        return ApiError(403, f"Policy doesn't allow {rule} to be performed.", service="compute")
    return neutron_refusal([rule])


def neutron_refusal(rules: Iterable[str]) -> ApiError:
    """Neutron's PolicyNotAuthorized: its match rule, nested as oslo.policy prints AndChecks."""
    text = ""
    for rule in rules:
        text = f"rule:{rule}" if not text else f"({text} and rule:{rule})"
    return ApiError(403, f"{text} is disallowed by policy", "PolicyNotAuthorized", "network")


def enforce_neutron(caller: Caller, action: str, resource: str, body: Mapping[str, Any],
                    target: Mapping[str, Any] | None = None) -> None:
    """Neutron's create/update check: the action's rule and one per attribute set in body that
    has a rule of its own (sub-attributes of external_gateway_info too); a 403 naming them
    all when any refuses."""
    rules = [action]
    for name in NEUTRON_ATTRIBUTES.get(resource, ()):
        if name in body and body[name] != NEUTRON_DEFAULTS.get(name, object()):
            rules.append(f"{action}:{name}")
    info = body.get("external_gateway_info")
    if resource == "router" and isinstance(info, dict):
        rules += [f"{action}:external_gateway_info:{key}" for key in
                  ("enable_snat", "external_fixed_ips") if key in info]
    project = {"project_id": (target or {}).get("project_id",
                                                 body.get("project_id") or caller.project_id)}
    if not all(allowed(caller, rule, project) for rule in rules if rule in RULES):
        raise neutron_refusal(rules)


def hide_fields(caller: Caller, table: str, view: dict[str, Any]) -> dict[str, Any]:
    """The view without the fields the caller's get_<resource>:<field> rules do not allow."""
    hidden = NEUTRON_HIDDEN.get(table, ())
    if caller.is_admin or not hidden:
        return view
    return {k: v for k, v in view.items() if k not in hidden}
