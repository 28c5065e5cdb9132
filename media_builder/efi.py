"""EFI binaries: each Authenticode signature block, the CA it chains to (checked with its key), the boot manager SVN."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization

from agent.errors import DataError, InputError

WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4"
NESTED_SIGNATURE = "1.3.6.1.4.1.311.2.4.1"  # szOID_NESTED_SIGNATURE, an unauthenticated attribute
SVN_RESOURCE = "BOOTMGRSECURITYVERSIONNUMBER"  # RT_RCDATA: 2-byte minor, then 2-byte major
_RT_RCDATA = 10
_SECURITY = 4  # IMAGE_DIRECTORY_ENTRY_SECURITY
_MACHINES = {0x8664: "amd64", 0x14C: "x86", 0xAA64: "arm64", 0x1C4: "arm"}


@dataclass(frozen=True)
class KnownCA:
    """A Secure Boot CA Microsoft publishes, known by the SHA-256 of its public key (never by its name)."""

    name: str
    generation: str  # "2011" | "2023"
    role: str  # "windows" (signs boot managers) | "third-party" | "option-rom" | "kek"
    spki_sha256: str


# Facts about Microsoft's CAs. The certificates come from virt-firmware (below); these pinned keys decide
# which certificate is which CA, so a changed or substituted file is never trusted.
MICROSOFT_CAS: tuple[KnownCA, ...] = (
    KnownCA(
        "Microsoft Windows Production PCA 2011",
        "2011",
        "windows",
        "96fcf444012a77ea14f34f349c469c85e2749fce709e0bcdf2e5eab431cdccae",
    ),
    KnownCA(
        "Windows UEFI CA 2023", "2023", "windows", "b45bbdd94c9bf231bb8d9dbf47f6dc917fe7ebea7ef95aeede218d7e9d395f9a"
    ),
    KnownCA(
        "Microsoft Corporation UEFI CA 2011",
        "2011",
        "third-party",
        "2c627ccbb690409550ad6e2d46a03eb10aa6d62d272a5dc3c86a8863ae19b2bb",
    ),
    KnownCA(
        "Microsoft UEFI CA 2023",
        "2023",
        "third-party",
        "f0f6d23f74457473749a72d5aa55b9efe491dd0bc3068905b019940abe8b5cc3",
    ),
    KnownCA(
        "Microsoft Option ROM UEFI CA 2023",
        "2023",
        "option-rom",
        "70b05022adf8de3061983894f3be9140205f84aaa49a860734337a45d9d93d4a",
    ),
    KnownCA(
        "Microsoft Corporation KEK CA 2011",
        "2011",
        "kek",
        "8b0efb708d89cc30580fb810aee3bd1dd33f84e07b5ac7f0a43c428df286b899",
    ),
    KnownCA(
        "Microsoft Corporation KEK 2K CA 2023",
        "2023",
        "kek",
        "0f5b9c6e752dc238a09810a1e58cf25d82c532bffd34e82480195e8243892e1a",
    ),
)
PCA_2011 = MICROSOFT_CAS[0]
WINDOWS_UEFI_CA_2023 = MICROSOFT_CAS[1]


# Microsoft's published CA certificates as virt-firmware ships them (package data, certs/microsoft.com/):
# file -> the CA (role-generation) whose pinned key it must hold. 25.4 is the first release with all seven.
VIRT_FIRMWARE = "virt-firmware"
VIRT_FIRMWARE_CERTS: dict[str, str] = {
    "windows-2011.pem": "windows-2011",
    "windows-2023.pem": "windows-2023",
    "ms-uefi-2011.pem": "third-party-2011",
    "ms-uefi-2023.pem": "third-party-2023",
    "ms-uefi-rom-2023.pem": "option-rom-2023",
    "ms-kek-2011.pem": "kek-2011",
    "ms-kek-2023.pem": "kek-2023",
}


@dataclass(frozen=True)
class Anchor:
    """A CA certificate the reader may check chains with: a known CA's certificate, or a lab's test CA."""

    ca: KnownCA
    der: bytes
    test: bool = False  # a lab's stand-in for `ca`, named so in every report
    file: str = ""  # the certificate file it was read from
    origin: str = ""  # "virt-firmware VERSION" for the default anchors; "" for a file the user gave


def spki_sha256(der_cert: bytes) -> str:
    """SHA-256 of a certificate's SubjectPublicKeyInfo (how the known CAs are recognised)."""
    cert = x509.load_der_x509_certificate(der_cert)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def _cert_der(data: bytes) -> bytes:
    """A certificate (PEM, with any text before it, or DER) as DER; ValueError when it is none."""
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return x509.load_der_x509_certificate(data).public_bytes(serialization.Encoding.DER)


def _load_cert_der(path: Path) -> bytes:
    try:
        return _cert_der(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot read the certificate: {exc.strerror}", "check the path") from exc
    except ValueError as exc:
        raise InputError(f"{path}: not an X.509 certificate (DER or PEM): {exc}", "give a CA certificate file") from exc


def microsoft_cert_folder() -> tuple[Traversable, str]:
    """virt-firmware's folder of Microsoft's CA certificates, and "virt-firmware VERSION" to name it by."""
    # A missing package raises ModuleNotFoundError("virt"): the CLI answers it as a missing builder extra.
    folder = importlib.resources.files("virt.firmware").joinpath("certs", "microsoft.com")
    return folder, f"{VIRT_FIRMWARE} {importlib.metadata.version(VIRT_FIRMWARE)}"


def default_anchors(
    folder: Traversable | None = None, origin: str = "", *, skip: Iterable[str] = ()
) -> tuple[Anchor, ...]:
    """Microsoft's Secure Boot CAs from virt-firmware's certificates (or `folder`), each accepted only when it
    holds the pinned key of the CA its file name says; `skip`: CA names the user gave certificates for."""
    if folder is None:
        folder, origin = microsoft_cert_folder()
    skipped = set(skip)
    anchors = []
    for name, which in VIRT_FIRMWARE_CERTS.items():
        ca = find_ca(which)
        if ca.name in skipped:
            continue
        source = folder.joinpath(name)
        if not source.is_file():
            raise DataError(
                f"{source}: missing from {origin or 'the certificate folder'}: it should be {ca.name}",
                f"install {VIRT_FIRMWARE} 25.4 or later (pip install 'prestart[builder]'), "
                "or give that CA's certificate with --ca-cert FILE",
            )
        try:
            der = _cert_der(source.read_bytes())
            problem = "" if spki_sha256(der) == ca.spki_sha256 else f"does not hold the public key of {ca.name}"
        except ValueError as exc:
            problem = f"is not an X.509 certificate ({exc})"
        if problem:
            raise DataError(
                f"{source}: {problem}: the file was changed or replaced",
                f"reinstall {VIRT_FIRMWARE} (pip install --force-reinstall {VIRT_FIRMWARE}), "
                "or give Microsoft's certificate with --ca-cert FILE",
            )
        anchors.append(Anchor(ca, der, file=str(source), origin=origin))
    return tuple(anchors)


def load_anchors(
    files: Iterable[Path], *, test_cas: Iterable[tuple[str, Path]] = (), defaults: bool = True
) -> tuple[Anchor, ...]:
    """Anchors from certificate files, on top of Microsoft's CAs from virt-firmware (`defaults`). A Microsoft CA is
    recognised by its key, and a file given for it replaces the default one; any other certificate is refused
    unless it is named as a lab's test CA standing in for a Microsoft CA (`test_cas`: (CA name or role-gen, file))."""
    anchors: list[Anchor] = []
    by_key = {ca.spki_sha256: ca for ca in MICROSOFT_CAS}
    for path in files:
        der = _load_cert_der(path)
        ca = by_key.get(spki_sha256(der))
        if ca is None:
            raise InputError(
                f"{path}: not one of Microsoft's Secure Boot CAs (its public key matches none of them)",
                "give Microsoft's CA certificates, or a lab CA with --test-ca ROLE=FILE",
            )
        anchors.append(Anchor(ca, der, file=str(path)))
    if defaults:
        anchors += default_anchors(skip={a.ca.name for a in anchors})
    for which, path in test_cas:
        ca = find_ca(which)
        anchors.append(Anchor(ca, _load_cert_der(path), test=True, file=str(path)))
    return tuple(anchors)


def describe_anchors(anchors: Sequence[Anchor]) -> str:
    """Where the anchors came from, in one line of the Secure Boot report."""
    parts: list[str] = []
    origins = dict.fromkeys(a.origin for a in anchors if a.origin)
    for origin in origins:
        count = sum(1 for a in anchors if a.origin == origin)
        parts.append(f"Microsoft's CA certificates shipped with {origin} ({count}, each matched to its pinned key)")
    for a in anchors:
        if not a.origin:
            parts.append(f"{a.ca.name} (lab test CA) from {a.file}" if a.test else f"{a.ca.name} from {a.file}")
    if not parts:
        return "trust anchors: none; only a Microsoft CA certificate embedded in a signature counts"
    return "trust anchors: " + "; ".join(parts)


def find_ca(which: str) -> KnownCA:
    """A known CA by exact name or by `role-generation` (windows-2011, windows-2023, third-party-2023, ...)."""
    for ca in MICROSOFT_CAS:
        if which in (ca.name, f"{ca.role}-{ca.generation}"):
            return ca
    choices = ", ".join(f"{ca.role}-{ca.generation}" for ca in MICROSOFT_CAS)
    raise InputError(f"unknown CA {which!r}", f"choose one of: {choices}")


@dataclass(frozen=True)
class Signature:
    """One Authenticode signature found in a PE file, and what it chains to."""

    block: int  # which WIN_CERTIFICATE entry (0-based)
    nested: bool  # a nested signature (unauthenticated attribute): Windows reads it, EDK2 firmware does not
    digest_algorithm: str
    digest_ok: bool  # the file's Authenticode hash is the one that was signed
    signer: str  # the signing certificate's subject
    issuer: str  # the name of the CA the chain claims
    ca: KnownCA | None  # the CA whose key verified the chain; None when no known key verifies it
    test_ca: bool  # verified with a lab's test CA standing in for `ca`
    problem: str  # "" when the signature verifies to `ca`

    @property
    def trusted(self) -> bool:
        return self.ca is not None and not self.problem

    def describe(self) -> str:
        kind = "nested signature" if self.nested else "signature block"
        if self.trusted and self.ca is not None:
            where = f"chains to {self.ca.name}" + (" (lab test CA)" if self.test_ca else "")
        else:
            where = f"UNTRUSTED: {self.problem}"
        return f"{kind} {self.block}: {self.digest_algorithm}, signer {self.signer!r}, issuer {self.issuer!r}: {where}"

    def as_dict(self) -> dict[str, object]:
        return {
            "block": self.block,
            "nested": self.nested,
            "digest": self.digest_algorithm,
            "digest_ok": self.digest_ok,
            "signer": self.signer,
            "issuer": self.issuer,
            "ca": self.ca.name if self.ca else None,
            "ca_generation": self.ca.generation if self.ca else None,
            "test_ca": self.test_ca,
            "trusted": self.trusted,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class EfiImage:
    """What a PE/EFI file says about itself: machine, signatures (top-level and nested) and boot manager SVN."""

    name: str
    machine: str
    sha256: str
    signatures: tuple[Signature, ...]
    svn: tuple[int, int] | None  # (major, minor)

    @property
    def firmware_signatures(self) -> tuple[Signature, ...]:
        """The signatures UEFI firmware reads: the top-level blocks (EDK2 ignores nested ones)."""
        return tuple(s for s in self.signatures if not s.nested)

    def cas(self) -> set[str]:
        """Generations ("2011", "2023") of the Windows/third-party CAs the firmware-visible signatures chain to."""
        return {s.ca.generation for s in self.firmware_signatures if s.trusted and s.ca is not None}

    def lines(self) -> list[str]:
        svn = f"{self.svn[0]}.{self.svn[1]}" if self.svn else "none (not a boot manager)"
        lines = [f"{self.name}: {self.machine}, sha256 {self.sha256}, boot manager SVN {svn}"]
        if not self.signatures:
            lines.append("  unsigned: Secure Boot refuses it")
        lines += [f"  {s.describe()}" for s in self.signatures]
        return lines

    def as_dict(self) -> dict[str, object]:
        return {
            "machine": self.machine,
            "sha256": self.sha256,
            "svn": f"{self.svn[0]}.{self.svn[1]}" if self.svn else None,
            "signatures": [s.as_dict() for s in self.signatures],
        }


def is_pe(data: bytes) -> bool:
    if len(data) < 0x40 or data[:2] != b"MZ":
        return False
    (offset,) = struct.unpack_from("<I", data, 0x3C)
    return data[offset : offset + 4] == b"PE\0\0"


def read_efi(data: bytes, name: str, anchors: Sequence[Anchor] = ()) -> EfiImage:
    """Read a PE/EFI file's signatures and SVN; each signature is checked with the anchors' keys."""
    import pefile

    try:
        pe = pefile.PE(data=data, fast_load=True)
    except pefile.PEFormatError as exc:
        raise InputError(f"{name}: not a PE/EFI file: {exc}", "give an .efi file (a UEFI application)") from exc
    machine = _MACHINES.get(pe.FILE_HEADER.Machine, hex(pe.FILE_HEADER.Machine))
    directories = getattr(pe, "OPTIONAL_HEADER", None) and pe.OPTIONAL_HEADER.DATA_DIRECTORY
    signatures: list[Signature] = []
    start = size = 0
    if directories and len(directories) > _SECURITY:
        # The security directory holds a file offset, not an RVA.
        start, size = directories[_SECURITY].VirtualAddress, directories[_SECURITY].Size
    if start and size:
        file_hashes = _AuthenticodeHasher(data, pe, start, size)
        offset, block = start, 0
        end = min(start + size, len(data))  # a truncated file must not take the reader past its end
        while offset + 8 <= end:
            length, _revision, cert_type = struct.unpack_from("<IHH", data, offset)
            if length < 8:
                break
            if cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA:
                signatures += _signatures(data[offset + 8 : offset + length], block, file_hashes, anchors)
            offset += (length + 7) // 8 * 8
            block += 1
    digest = hashlib.sha256(data).hexdigest()
    return EfiImage(name, machine, digest, tuple(signatures), _svn(pe))


def read_efi_file(path: Path, anchors: Sequence[Anchor] = ()) -> EfiImage:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}", "check the path") from exc
    return read_efi(data, str(path), anchors)


class _AuthenticodeHasher:
    """The Authenticode hash of a PE file: everything but the checksum, the security directory entry and the
    certificate table, per digest algorithm (computed once each)."""

    def __init__(self, data: bytes, pe: object, cert_start: int, cert_size: int) -> None:
        optional = pe.OPTIONAL_HEADER  # type: ignore[attr-defined]
        checksum = optional.get_field_absolute_offset("CheckSum")
        security_entry = optional.DATA_DIRECTORY[_SECURITY].get_file_offset()
        self._parts = (
            data[:checksum],
            data[checksum + 4 : security_entry],
            data[security_entry + 8 : cert_start],
            data[cert_start + cert_size :],
        )
        self._cache: dict[str, bytes] = {}

    def digest(self, algorithm: str) -> bytes:
        if algorithm not in self._cache:
            h = hashlib.new(algorithm)
            for part in self._parts:
                h.update(part)
            self._cache[algorithm] = h.digest()
        return self._cache[algorithm]


def _name(name: object) -> str:
    from asn1crypto import x509 as asn1_x509

    assert isinstance(name, asn1_x509.Name)
    cn = name.native.get("common_name")
    if isinstance(cn, list):
        cn = cn[-1]
    return str(cn or name.human_friendly)


def _signatures(blob: bytes, block: int, hasher: _AuthenticodeHasher, anchors: Sequence[Anchor]) -> list[Signature]:
    """The signature in one PKCS#7 SignedData blob, then every nested signature inside it."""
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(blob)
        signed = info["content"]
        found = [_check(signed, block, False, hasher, anchors)]
        for signer in signed["signer_infos"]:
            for attr in signer["unsigned_attrs"] or []:
                if attr["type"].dotted != NESTED_SIGNATURE:
                    continue
                for nested in attr["values"]:
                    found.append(_check(nested["content"], block, True, hasher, anchors))
    except (ValueError, KeyError, TypeError, IndexError) as exc:  # asn1crypto's errors for damaged DER
        return [Signature(block, False, "?", False, "?", "?", None, False, f"unreadable signature block: {exc}")]
    return found


def _check(
    signed: object, block: int, nested: bool, hasher: _AuthenticodeHasher, anchors: Sequence[Anchor]
) -> Signature:
    """Verify one SignedData: the file hash it signs, the signer's signature, then the chain up to a known CA key."""
    from asn1crypto import cms, core

    assert isinstance(signed, cms.SignedData)
    encap = signed["encap_content_info"]
    signer_info = signed["signer_infos"][0]
    algorithm = signer_info["digest_algorithm"]["algorithm"].native
    certs = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
    issuer_and_serial = signer_info["sid"].chosen
    signer_cert = next(
        (
            c
            for c in certs
            if c.serial_number == issuer_and_serial["serial_number"].native and c.issuer == issuer_and_serial["issuer"]
        ),
        None,
    )
    issuer = _name(issuer_and_serial["issuer"])
    if encap["content_type"].dotted != SPC_INDIRECT_DATA or signer_cert is None:
        what = "no signing certificate" if signer_cert is None else "not an Authenticode signature"
        return Signature(block, nested, algorithm, False, "?", issuer, None, False, what)
    signer = _name(signer_cert.subject)

    def result(ca: KnownCA | None, test: bool, problem: str, digest_ok: bool = True) -> Signature:
        return Signature(block, nested, algorithm, digest_ok, signer, issuer, ca, test, problem)

    # SpcIndirectDataContent: SEQUENCE { data, DigestInfo { algorithm, digest } }; the signed digest covers its
    # content octets (without the outer tag and length).
    signed_content = bytes(encap["content"].contents)  # before parse(), which re-encodes the value in place
    indirect = encap["content"].parse(core.Sequence)
    if _indirect_digest(indirect) != hasher.digest(algorithm):
        return result(None, False, "the file was changed after it was signed (Authenticode hash differs)", False)
    attrs = signer_info["signed_attrs"]
    message_digest = next((a["values"][0].native for a in attrs if a["type"].native == "message_digest"), None)
    if message_digest != hashlib.new(algorithm, signed_content).digest():
        return result(None, False, "the signed attributes do not match the signed content")
    signer_x509 = x509.load_der_x509_certificate(signer_cert.dump())
    signed_attrs = attrs.untag().dump(force=True)  # the signature covers them as a SET OF (tag 0x31)
    if not _verify(signer_x509, signer_info["signature"].native, signed_attrs, algorithm):
        return result(None, False, "the signer's signature does not verify with its certificate's key")
    ca, test, problem = _chain(signer_x509, [x509.load_der_x509_certificate(c.dump()) for c in certs], anchors)
    return result(ca, test, problem)


def _indirect_digest(indirect: object) -> bytes:
    from asn1crypto import core

    assert isinstance(indirect, core.Sequence)
    digest_info = core.Sequence.load(indirect[1].dump())
    return bytes(core.OctetString.load(digest_info[1].dump()).native)


def _verify(cert: x509.Certificate, signature: bytes, data: bytes, algorithm: str) -> bool:
    """Whether `signature` over `data` verifies with `cert`'s public key (RSA PKCS#1 v1.5 or ECDSA)."""
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    digest: dict[str, hashes.HashAlgorithm] = {
        "sha256": hashes.SHA256(),
        "sha1": hashes.SHA1(),
        "sha384": hashes.SHA384(),
        "sha512": hashes.SHA512(),
    }
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), digest[algorithm])
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(digest[algorithm]))
        else:
            return False
    except (InvalidSignature, KeyError):
        return False
    return True


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _chain(
    signer: x509.Certificate, embedded: list[x509.Certificate], anchors: Sequence[Anchor]
) -> tuple[KnownCA | None, bool, str]:
    """Walk up from the signer through the embedded certificates; the first certificate whose issuer is an anchor
    (checked with the anchor's key, not its name) decides. A CA certificate embedded in the signature counts as
    the known CA only when its public key is that CA's key."""
    anchor_certs = [(a, x509.load_der_x509_certificate(a.der)) for a in anchors]
    by_key = {ca.spki_sha256: ca for ca in MICROSOFT_CAS}
    current = signer
    seen: set[bytes] = set()
    claimed = ""
    for _ in range(8):  # real chains are two or three certificates deep
        fingerprint = current.fingerprint(hashes.SHA256())
        if fingerprint in seen:
            break
        seen.add(fingerprint)
        for anchor, cert in anchor_certs:
            if current.issuer == cert.subject and _issued_by(current, cert):
                return anchor.ca, anchor.test, ""
        # An embedded certificate with a known CA's key is that CA, whatever the anchors given.
        for cert in embedded:
            if current.issuer == cert.subject and _issued_by(current, cert):
                ca = by_key.get(spki_sha256(cert.public_bytes(serialization.Encoding.DER)))
                if ca is not None:
                    return ca, False, ""
        claimed = current.issuer.rfc4514_string()
        parent = next((c for c in embedded if current.issuer == c.subject and c != current), None)
        if parent is None or not _issued_by(current, parent):
            break
        current = parent
    names = {ca.name for ca in MICROSOFT_CAS}
    if any(f"CN={n}" in claimed for n in names):
        return None, False, f"names {claimed} but no known CA's key verifies it (a look-alike certificate)"
    return None, False, f"chains to {claimed or 'an unknown CA'}, which is not a Secure Boot CA given to the reader"


def _svn(pe: object) -> tuple[int, int] | None:
    """The boot manager's security version: RT_RCDATA `BOOTMGRSECURITYVERSIONNUMBER` (minor, major; 2 bytes each)."""
    import pefile

    assert isinstance(pe, pefile.PE)
    try:
        pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
    except pefile.PEFormatError:
        return None
    root = getattr(pe, "DIRECTORY_ENTRY_RESOURCE", None)
    for rtype in getattr(root, "entries", []):
        if rtype.id != _RT_RCDATA:
            continue
        for entry in rtype.directory.entries:
            if entry.name is None or str(entry.name).upper() != SVN_RESOURCE:
                continue
            for lang in entry.directory.entries:
                data = pe.get_data(lang.data.struct.OffsetToData, lang.data.struct.Size)
                if len(data) >= 4:
                    minor, major = struct.unpack_from("<HH", data)
                    return major, minor
    return None
