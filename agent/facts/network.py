"""Network facts (MacAddress001.., IPAddress001.., DefaultGateway001.., HostName) from Linux's /sys and /proc."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import NamedTuple

from agent.facts.common import hostname
from agent.log import get_logger

log = get_logger("prestart.facts.network")

ARPHRD_LOOPBACK = 772
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
RTF_UP = 0x1
RTF_GATEWAY = 0x2


class Route(NamedTuple):
    """One /proc/net/route line."""

    iface: str
    network: ipaddress.IPv4Network | None  # None for a malformed destination/mask pair
    gateway: str
    flags: int
    metric: int


class Interface(NamedTuple):
    """An interface that is up and not loopback, with what we learn about it (addresses are added later)."""

    name: str
    ifindex: int  # the kernel's interface index (a Record's `index` is tuple.index)
    mac: str
    ipv4: list[str]  # no defaults: each interface needs lists of its own
    ipv6: list[str]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        log.info("cannot read %s: %s", path, exc.strerror or exc)
        return ""


def _hex_ipv4(text: str) -> str:
    # The kernel prints the address as the u32 it holds in memory, so host byte order applies.
    return str(ipaddress.IPv4Address(int(text, 16).to_bytes(4, sys.byteorder)))


def parse_routes(text: str) -> list[Route]:
    """The lines of /proc/net/route (header skipped, malformed lines ignored)."""
    routes = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8:
            continue
        try:
            dest, gateway, mask = _hex_ipv4(cols[1]), _hex_ipv4(cols[2]), _hex_ipv4(cols[7])
            flags, metric = int(cols[3], 16), int(cols[6])
        except ValueError:
            continue
        try:
            network: ipaddress.IPv4Network | None = ipaddress.IPv4Network(f"{dest}/{mask}")
        except ValueError:
            network = None
        routes.append(Route(cols[0], network, gateway, flags, metric))
    return routes


def parse_fib_trie(text: str) -> list[str]:
    """The local IPv4 addresses in /proc/net/fib_trie ("/32 host LOCAL" leaves), in order, once each."""
    found: list[str] = []
    last = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|--"):
            last = stripped[3:].strip()
        elif stripped.startswith("/32") and stripped.endswith("host LOCAL") and last and last not in found:
            found.append(last)
    return found


def parse_if_inet6(text: str) -> list[tuple[str, str]]:
    """(interface, address) pairs from /proc/net/if_inet6, skipping loopback (link-local stays, as in Gather)."""
    pairs = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) < 6 or len(cols[0]) != 32:
            continue
        try:
            addr = ipaddress.IPv6Address(bytes.fromhex(cols[0]))
        except ValueError:
            continue
        if addr.is_loopback:
            continue
        pairs.append((cols[5], str(addr)))
    return pairs


def list_interfaces(net: Path) -> list[Interface]:
    """Interfaces under /sys/class/net that are up and not loopback, in interface-index order."""
    found = []
    try:
        entries = list(net.iterdir())
    except OSError as exc:
        log.warning("cannot list network interfaces in %s: %s", net, exc.strerror)
        return []
    for entry in entries:
        try:
            kind = int(_read(entry / "type").strip() or "0")
            flags = int(_read(entry / "flags").strip() or "0", 16)
            index = int(_read(entry / "ifindex").strip() or "0")
        except ValueError:
            log.info("skipping %s: unreadable type/flags/ifindex", entry.name)
            continue
        operstate = _read(entry / "operstate").strip()
        if kind == ARPHRD_LOOPBACK or flags & IFF_LOOPBACK:
            continue
        # "unknown" is common for virtual links that work; only skip what says it is down.
        if not flags & IFF_UP or operstate in ("down", "lowerlayerdown", "notpresent"):
            continue
        mac = _read(entry / "address").strip().upper()
        found.append(Interface(entry.name, index, mac, [], []))
    return sorted(found, key=lambda i: (i.ifindex, i.name))


def network_facts(*, sys_root: Path = Path("/sys"), proc_root: Path = Path("/proc")) -> dict[str, str]:
    """MDT-style numbered lists; what cannot be read is logged and left out."""
    interfaces = list_interfaces(sys_root / "class" / "net")
    by_name = {i.name: i for i in interfaces}
    routes = parse_routes(_read(proc_root / "net" / "route"))

    unassigned: list[str] = []
    for text in parse_fib_trie(_read(proc_root / "net" / "fib_trie")):
        addr = ipaddress.IPv4Address(text)
        if addr.is_loopback or addr.is_link_local or addr.is_unspecified:  # Gather skips 169.254.x.x, 0.0.0.0
            continue
        # An address belongs to the interface whose connected route is the longest match.
        matches = [r for r in routes if r.network is not None and r.network.prefixlen and addr in r.network]
        matches.sort(key=lambda r: r.network.prefixlen if r.network else 0, reverse=True)
        owner = next((by_name[r.iface] for r in matches if r.iface in by_name), None)
        if owner is not None:
            owner.ipv4.append(text)
        elif not any(r.iface not in by_name for r in matches):
            unassigned.append(text)  # no route says whose it is: still worth reporting
    for name, text in parse_if_inet6(_read(proc_root / "net" / "if_inet6")):
        if name in by_name:
            by_name[name].ipv6.append(text)

    facts: dict[str, str] = {"HostName": hostname()}
    macs = [i.mac for i in interfaces if i.mac and i.mac != "00:00:00:00:00:00"]
    # Gather lists each adapter's addresses in turn (IPv4, then IPv6, link-local included).
    addresses = [a for i in interfaces for a in (*i.ipv4, *i.ipv6)] + unassigned
    defaults = sorted(
        (r for r in routes if r.flags & RTF_GATEWAY and r.flags & RTF_UP and r.network is not None
         and r.network.prefixlen == 0 and r.iface in by_name),
        key=lambda r: r.metric,
    )
    gateways: list[str] = []
    for route in defaults:
        if route.gateway not in gateways:
            gateways.append(route.gateway)
    facts.update(numbered(macs, addresses, gateways))
    return facts


def numbered(macs: list[str], addresses: list[str], gateways: list[str]) -> dict[str, str]:
    """Gather's lists as facts: MacAddress001.., IPAddress001.., DefaultGateway001.., each value once, in order."""
    facts: dict[str, str] = {}
    for base, values in (("MacAddress", macs), ("IPAddress", addresses), ("DefaultGateway", gateways)):
        seen = list(dict.fromkeys(values))
        for n, value in enumerate(seen, start=1):
            facts[f"{base}{n:03d}"] = value
    return facts
