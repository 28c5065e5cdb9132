"""The profile's structure, once: it validates profiles and prints the editors' JSON Schema."""

from __future__ import annotations

from typing import Any

from agent.schemakit import Anything, Bool, Int, List, MapOf, Num, Obj, OneOf, Str, json_schema

VARIABLE_PATTERN = "^[A-Za-z][A-Za-z0-9_-]{0,255}$"
FIELD_KINDS = ("choice", "multi", "checkbox", "text", "password", "ou")
PAGE_KINDS = ("form", "info", "confirm", "login")
VALIDATE_PRESETS = ("netbios",)

_expr = Str(description="An expression: and/or/not, == != < <= > >=, like, exists Name, in [..].", min_length=1)
_template = Str(description="Text with {Name}, {item.attr} and |filters; %NAME% passes through.", scalar_ok=True)
_set = MapOf(_template, description="Variables to set: name -> template.", key_pattern=VARIABLE_PATTERN)
_roles = List(Str(min_length=1), description="Only these roles see this.")

RULE = Obj(
    {
        "name": Str(description="A name for the log and the receipt."),
        "when": _expr,
        "set": _set,
        "lookup": Obj(
            {
                "list": Str(min_length=1, description="The catalog list to search."),
                "match": MapOf(Str(min_length=1), description="item attribute -> variable whose value it must equal"),
            },
            required=("list", "match"),
            description="Find the first catalog item whose attributes equal these variables; {item.*} is that item.",
        ),
        "lock": List(Str(min_length=1), description="Variables nobody may change after this rule."),
    },
    description="An ordered rule: when it holds (and its lookup matches), set variables.",
)

CHECK = Obj(
    {
        "name": Str(min_length=1),
        "check": _expr,
        "severity": Str(enum=("error", "warning")),
        "message": _template,
        "roles": _roles,
    },
    required=("name", "check"),
    description="A preflight check; an error stops the run with 21, a warning is shown and logged.",
)

CHOICE = Obj(
    {"value": Str(scalar_ok=True), "label": Str(scalar_ok=True), "group": Str(), "requires": _expr, "roles": _roles},
    required=("value",),
)

VALIDATE = OneOf(
    [
        Str(enum=VALIDATE_PRESETS),
        Obj(
            {
                "regex": Str(min_length=1),
                "min_length": Int(minimum=0),
                "max_length": Int(minimum=1),
                "message": Str(),
            }
        ),
    ],
    description="A preset name (netbios) or regex/min_length/max_length/message.",
)

FIELD = Obj(
    {
        "id": Str(min_length=1),
        "type": Str(enum=FIELD_KINDS),
        "label": Str(),
        "help": Str(),
        "variable": Str(min_length=1),
        "set": _set,
        "list": Str(min_length=1, description="A catalog list to choose from."),
        "choices": List(CHOICE, min_items=1),
        "required": Bool(),
        "default": Anything(description="A template, true/false for a checkbox, or a list of ids for multi."),
        "validate": VALIDATE,
        "when": _expr,
        "roles": _roles,
        "array": Obj(
            {"base": Str(min_length=1), "digits": Int(minimum=1, maximum=4)},
            required=("base",),
            description="Multi-select values become <base>01, <base>02, ... "
            "(digits: 2 for XApplications, 3 for PACKAGES).",
        ),
        "secret": Bool(description="Never log, show again or write to the receipt."),
        "filter": Bool(description="Show a type-to-filter box (long lists)."),
        "view": Str(enum=("list", "tree"), description="An OU field: a flat filterable list or a tree."),
        "directory_check": OneOf(
            [
                Bool(),
                Obj(
                    {
                        "exists": Str(enum=("warn", "block"), description="A computer of that name exists."),
                        "unavailable": Str(enum=("skip", "block"), description="Not signed in, or no answer."),
                        "base_dn": Str(description="Where to look; default: the login page's base_dn."),
                        "timeout": Num(minimum=0.1, description="Total time budget in seconds."),
                    }
                ),
            ],
            description="A text field: ask the directory, with the technician's sign-in, whether a computer of "
            "this name exists.",
        ),
        "ou": Obj(
            {
                "base_dn": Str(min_length=1, description="The OUs under this DN are offered."),
                "view": Str(enum=("list", "tree")),
                "filter": Str(description="An LDAP filter ANDed with (objectClass=organizationalUnit)."),
                "allow": List(Str(min_length=1), description="Only these OUs and the OUs under them."),
                "page_size": Int(minimum=1, maximum=5000),
                "timeout": Num(minimum=0.1, description="Total time budget in seconds."),
            },
            required=("base_dn",),
            description="An OU field: read the OUs from the directory with the technician's sign-in.",
        ),
    },
    required=("id", "type"),
)

PAGE = Obj(
    {
        "id": Str(min_length=1),
        "type": Str(enum=PAGE_KINDS),
        "title": Str(),
        "text": _template,
        "when": _expr,
        "roles": _roles,
        "fields": List(FIELD),
        "type_to_confirm": _template,
        "countdown": Obj(
            {"seconds": Int(minimum=1), "on_timeout": Str(enum=("continue", "cancel"))},
            required=("seconds",),
        ),
        "ldap": Obj(
            {
                "server": Str(min_length=1, description="ldaps://host[:port]"),
                "base_dn": Str(),
                "domain": Str(description="NetBIOS domain for DOMAIN\\user"),
                "upn_suffix": Str(),
                "ca_bundle": Str(),
                "timeout": Num(minimum=0.1),
            },
            required=("server",),
        ),
        "groups": MapOf(Str(min_length=1), description="group DN or name -> role"),
        "allow_pin": Bool(),
        "max_attempts": Int(minimum=1),
    },
    required=("id",),
)

PROFILE = Obj(
    {
        "$schema": Str(),
        "compiled": Obj(
            {"by": Str(), "sha256": Str(min_length=64), "trees": MapOf(Anything())},
            required=("by", "sha256"),
            description="Written by `prestart compile`: the agent that compiled the profile, a digest of the rest "
            "and every condition's parsed tree. Edit the YAML source, not the compiled file.",
        ),
        "version": Int(minimum=1, maximum=1),
        "title": Str(),
        "mode": Str(enum=("technician", "kiosk")),
        "role": Str(min_length=1),
        "theme": Obj({"accent": Str(), "logo": Str(), "scale": Num(minimum=0.5)}),
        "catalog": Obj(
            {
                "refresh": Obj(
                    {
                        "url": Str(min_length=1),
                        "timeout": Num(minimum=0.1, description="Total time budget in seconds."),
                        "connect_timeout": Num(minimum=0.1),
                        "read_timeout": Num(minimum=0.1),
                        "retries": Int(minimum=0, maximum=10),
                        "max_bytes": Int(minimum=1024),
                    },
                    required=("url",),
                ),
                "max_age_days": Int(minimum=1),
                "when_stale": Str(enum=("warn", "refuse"), description="A catalog older than max_age_days: "
                                  "`warn` (use it, say so on screen and in the log) or `refuse` (exit 13). "
                                  "Default: refuse the media's catalog, warn about one given with --catalog."),
            }
        ),
        "kiosk": Obj(
            {
                "idle_reset_seconds": Int(minimum=10),
                "technician_unlock": Obj(
                    {"role": Str(min_length=1), "pin_hash": Str(min_length=1), "max_attempts": Int(minimum=1)},
                    required=("pin_hash",),
                ),
            }
        ),
        "on_cancel": Obj({"then": Str(enum=("reboot", "shutdown", "exit"))}),
        "allow_unattended_commit": Bool(
            description="Whether a confirm page's `countdown: {on_timeout: continue}` may press Finish with "
            "nobody at the machine. Default false: the countdown is not started and the page waits."
        ),
        "audit": Obj({"url": Str(min_length=1), "timeout": Num(minimum=0.1)}),
        "rules": List(RULE),
        "preflight": List(CHECK),
        "pages": List(PAGE),
    },
    required=("version",),
    description="A Prestart profile: rules, preflight checks and pages.",
)


def profile_json_schema() -> dict[str, Any]:
    return json_schema(
        PROFILE, title="Prestart profile", schema_id="https://prestart.invalid/schemas/profile.schema.json"
    )
