"""The media definition's structure, once: it validates media.yaml and prints schemas/media.schema.json."""

from __future__ import annotations

from typing import Any

from agent.schemakit import Anything, Bool, Int, List, MapOf, Obj, OneOf, Str, json_schema

ARCHES = ("amd64", "x86", "arm64")
HOOKS = ("configmgr", "mdt", "winpe")
OUTPUT_KINDS = ("wim", "iso", "usb", "pxe", "configmgr-prestart")
NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # used in folder and file names
PACKAGE_ID_PATTERN = "^[A-Z0-9]{8}$"  # ConfigMgr package IDs: site code + 5 hex digits
# `secure_boot:` values (docs/secure-boot.md); "auto" is the default: 2023 when the image has the _EX files.
SECURE_BOOT = ("2023", "2011", "both")
LABEL_PATTERN = "^[A-Z0-9_]{1,32}$"  # ISO 9660 d-characters; the volume id holds 32

_path = Str(min_length=1, description="A path relative to the media definition.")
_remote = MapOf(Anything(), description="The source's options (url, credentials from *_env variables, ...).")

SOURCE = Obj(
    {
        "file": OneOf(
            [_path, Obj({"path": _path}, required=("path",))],
            description="A catalog file (JSON or YAML) in Prestart's format.",
        ),
        "http": _remote,
        "adminservice": _remote,
    },
    description="One catalog source: a mapping with one key (docs/catalog.md).",
)

BOOT_IMAGE = Obj(
    {
        "name": Str(
            pattern=NAME_PATTERN, pattern_says="a name is 1-64 letters, digits, '.', '_' or '-'", example="winpe-x64",
            description="The folder name under the output directory.",
        ),
        "arch": Str(enum=ARCHES, description="The agent's PE machine type must match."),
        "wim": _path,
        "index": Int(minimum=1, description="The image of boot.wim to update; WinPE is 1."),
        "hook": Str(enum=HOOKS, description="The boot engine that starts the agent."),
        "media": Str(min_length=1, description="ADK media folder; required for iso, usb and pxe."),
        "label": Str(
            pattern=LABEL_PATTERN, pattern_says="a volume label is 1-32 of A-Z, 0-9 and _", example="CONTOSO_PE",
            description="ISO volume label (default: the name, upper-cased).",
        ),
        "package_id": Str(
            pattern=PACKAGE_ID_PATTERN, pattern_says="a package ID is 8 upper-case letters or digits",
            example="PRST0001", description="ConfigMgr: the folder under X:\\sms\\PKG (default PRST0001).",
        ),
        "etfsboot": _path,
        "efisys": _path,
    },
    required=("name", "arch", "wim", "hook"),
)

MEDIA = Obj(
    {
        "version": Int(minimum=1, maximum=1, description="1"),
        "name": Str(
            pattern=NAME_PATTERN, pattern_says="a name is 1-64 letters, digits, '.', '_' or '-'", example="contoso-lab"
        ),
        "profile": Str(min_length=1, description="The agent profile carried on the media."),
        "ca_bundle": Str(min_length=1, description="PEM CA bundle copied to the payload as ca-bundle.pem."),
        "catalog": Obj(
            {
                "sources": List(SOURCE, min_items=1, description="Read in order; a later list replaces an earlier "
                                "one of the same name."),
                "signing_key": Str(min_length=1, description="Ed25519 private key (0600); catalog.pub beside it."),
                "allow_secrets": List(
                    Obj({"name": Str(min_length=1), "reason": Str(min_length=1)}, required=("name", "reason")),
                    description="Catalog attributes or hidden task sequence variables that look secret but may go "
                    "on media, each with the reason (docs/security.md).",
                ),
            },
            required=("sources", "signing_key"),
        ),
        "agent": Obj(
            {
                "amd64": _path,
                "x86": _path,
                "arm64": _path,
                "freeze": Bool(description="Freeze the agent with PyInstaller on this host for architectures "
                               "without a prebuilt binary."),
                "onefile": Bool(description="Freeze as one file (default: onedir, faster to start in WinPE)."),
            },
            description="A prebuilt agent per architecture, or freeze: true.",
        ),
        "boot_images": List(BOOT_IMAGE, min_items=1),
        "outputs": List(Str(enum=OUTPUT_KINDS), min_items=1),
        "secure_boot": OneOf(
            [Str(enum=SECURE_BOOT), Int(minimum=2011, maximum=2023)],
            description="Which Secure Boot CA the boot manager chains to: 2023 (the default when the image carries "
            "the _EX boot files), 2011 (legacy) or both (two outputs per kind). See docs/secure-boot.md.",
        ),
    },
    required=("version", "name", "profile", "catalog", "agent", "boot_images", "outputs"),
    description="Every boot image an imaging team builds, in one file. Paths are relative to the definition. "
    "`prestart-media check` reports every problem with its file, line and path.",
)


def media_json_schema() -> dict[str, Any]:
    return json_schema(
        MEDIA, title="Prestart media definition (media.yaml)",
        schema_id="https://prestart.invalid/schemas/media.schema.json",
    )
