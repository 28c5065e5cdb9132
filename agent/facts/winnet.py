"""Windows network facts through GetAdaptersAddresses, as Gather reads them from Win32_NetworkAdapterConfiguration."""

from __future__ import annotations

import ctypes
import ipaddress
import sys
from ctypes import wintypes

from agent.facts.network import numbered
from agent.log import get_logger

assert sys.platform == "win32", "agent.facts.winnet is Windows-only"

log = get_logger("prestart.facts.winnet")

AF_UNSPEC, AF_INET, AF_INET6 = 0, 2, 23
GAA_FLAG_INCLUDE_GATEWAYS = 0x0080
ERROR_BUFFER_OVERFLOW = 111
IF_TYPE_SOFTWARE_LOOPBACK = 24
IF_TYPE_TUNNEL = 131


class _SocketAddress(ctypes.Structure):
    _fields_ = [("lpSockaddr", ctypes.c_void_p), ("iSockaddrLength", ctypes.c_int)]


class _AddressEntry(ctypes.Structure):
    """The head that IP_ADAPTER_UNICAST_ADDRESS and IP_ADAPTER_GATEWAY_ADDRESS share."""


_AddressEntry._fields_ = [
    ("Alignment", ctypes.c_ulonglong),
    ("Next", ctypes.POINTER(_AddressEntry)),
    ("Address", _SocketAddress),
]


class _Adapter(ctypes.Structure):
    """IP_ADAPTER_ADDRESSES_LH up to FirstGatewayAddress (Windows Vista and later, so every WinPE)."""


_Adapter._fields_ = [
    ("Alignment", ctypes.c_ulonglong),
    ("Next", ctypes.POINTER(_Adapter)),
    ("AdapterName", ctypes.c_char_p),
    ("FirstUnicastAddress", ctypes.POINTER(_AddressEntry)),
    ("FirstAnycastAddress", ctypes.c_void_p),
    ("FirstMulticastAddress", ctypes.c_void_p),
    ("FirstDnsServerAddress", ctypes.c_void_p),
    ("DnsSuffix", ctypes.c_wchar_p),
    ("Description", ctypes.c_wchar_p),
    ("FriendlyName", ctypes.c_wchar_p),
    ("PhysicalAddress", ctypes.c_ubyte * 8),
    ("PhysicalAddressLength", wintypes.ULONG),
    ("Flags", wintypes.ULONG),
    ("Mtu", wintypes.ULONG),
    ("IfType", wintypes.ULONG),
    ("OperStatus", ctypes.c_int),
    ("Ipv6IfIndex", wintypes.ULONG),
    ("ZoneIndices", wintypes.ULONG * 16),
    ("FirstPrefix", ctypes.c_void_p),
    ("TransmitLinkSpeed", ctypes.c_ulonglong),
    ("ReceiveLinkSpeed", ctypes.c_ulonglong),
    ("FirstWinsServerAddress", ctypes.c_void_p),
    ("FirstGatewayAddress", ctypes.POINTER(_AddressEntry)),
]


def _address(socket_address: _SocketAddress) -> str:
    """The text of a SOCKADDR_IN or SOCKADDR_IN6 ("" for anything else)."""
    if not socket_address.lpSockaddr:
        return ""
    family = ctypes.c_ushort.from_address(socket_address.lpSockaddr).value
    if family == AF_INET:
        return str(ipaddress.IPv4Address(ctypes.string_at(socket_address.lpSockaddr + 4, 4)))
    if family == AF_INET6:
        return str(ipaddress.IPv6Address(ctypes.string_at(socket_address.lpSockaddr + 8, 16)))
    return ""


def _walk(first: ctypes._Pointer[_AddressEntry]) -> list[str]:  # type: ignore[name-defined]
    found = []
    entry = first
    while entry:
        text = _address(entry.contents.Address)
        if text:
            found.append(text)
        entry = entry.contents.Next
    return found


def adapter_facts() -> dict[str, str]:
    """MacAddress001.., IPAddress001.., DefaultGateway001.. of the adapters that carry IP, as Gather lists them.

    Gather skips 0.0.0.0 and 169.254.x.x addresses; loopback and tunnel interfaces are no adapters to it.
    """
    iphlpapi = ctypes.WinDLL("iphlpapi")
    get = iphlpapi.GetAdaptersAddresses
    get.argtypes = [wintypes.ULONG, wintypes.ULONG, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(wintypes.ULONG)]
    get.restype = wintypes.ULONG
    size = wintypes.ULONG(16 * 1024)
    for _ in range(3):  # the list can grow between the two calls
        buf = ctypes.create_string_buffer(size.value)
        result = get(AF_UNSPEC, GAA_FLAG_INCLUDE_GATEWAYS, None, buf, ctypes.byref(size))
        if result != ERROR_BUFFER_OVERFLOW:
            break
    if result != 0:
        log.warning("GetAdaptersAddresses failed (error %s): no network facts", result)
        return {}
    macs: list[str] = []
    addresses: list[str] = []
    gateways: list[str] = []
    adapter = ctypes.cast(buf, ctypes.POINTER(_Adapter))
    while adapter:
        item = adapter.contents
        adapter = item.Next
        if item.IfType in (IF_TYPE_SOFTWARE_LOOPBACK, IF_TYPE_TUNNEL):
            continue
        ips = [a for a in _walk(item.FirstUnicastAddress) if a != "0.0.0.0" and not a.startswith("169.254.")]
        ips.sort(key=lambda a: ":" in a)  # WMI lists an adapter's IPv4 addresses before its IPv6 ones
        length = min(item.PhysicalAddressLength, 8)
        if not ips or not length:
            continue  # Gather asks for adapters with IP enabled
        macs.append(":".join(f"{b:02X}" for b in item.PhysicalAddress[:length]))
        addresses += ips
        gateways += _walk(item.FirstGatewayAddress)
    return numbered(macs, addresses, gateways)
