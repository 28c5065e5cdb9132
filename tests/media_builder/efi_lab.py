"""A Secure Boot lab for tests: test CAs, tiny EFI applications built with mingw-w64, signed with osslsigncode."""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from agent import proc
from media_builder import efi

# Microsoft's CA certificates as the builder checks with them by default: virt-firmware's copies, each matched to
# its pinned key. CA name -> certificate file (PEM).
MS_ANCHORS = efi.default_anchors()
MS_CERTS: dict[str, Path] = {a.ca.name: Path(a.file) for a in MS_ANCHORS}
SHIM = Path("/usr/lib/shim/shimx64.efi.signed")
BOOTED = "PRESTART-EFI-BOOTED"

# A UEFI application that prints a marker on the console (OVMF copies it to the serial port) and powers off.
# The structures are cut down to the members used; the calling convention is mingw's native MS x64 ABI.
_APP_C = r"""
typedef unsigned long long UINTN;
typedef unsigned short CHAR16;
typedef struct { void *reset; UINTN (*output)(void *self, const CHAR16 *s); } OUT;
typedef struct { char hdr[24]; void *p[10]; void (*reset_system)(int type, UINTN status, UINTN size, void *d); } RT;
typedef struct {
  char hdr[24]; void *vendor; unsigned rev; void *in_h; void *in; void *out_h; OUT *out; void *err_h; void *err; RT *rt;
} ST;
UINTN efi_main(void *image, ST *st) {
  st->out->output(st->out, L"PRESTART-EFI-BOOTED " MARKER L"\r\n");
  st->rt->reset_system(2, 0, 0, 0); /* EfiResetShutdown */
  return 0;
}
"""


@dataclass(frozen=True)
class LabCA:
    """A CA with its key; `pem` and `der` are the certificate files."""

    name: str
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    pem: Path
    der: Path


@dataclass(frozen=True)
class Signer:
    """A code-signing certificate issued by a LabCA, as files osslsigncode reads."""

    chain: Path  # signer certificate, then its CA (PEM)
    key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Redmond"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Microsoft Corporation"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_ca(folder: Path, cn: str, *, name: x509.Name | None = None) -> LabCA:
    """A self-signed CA (RSA 2048). `name` copies another CA's subject, for look-alike certificates."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = name or _name(cn)
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    slug = cn.replace(" ", "-").lower()
    pem, der = folder / f"{slug}.pem", folder / f"{slug}.der"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    return LabCA(cn, key, cert, pem, der)


def make_signer(folder: Path, ca: LabCA, cn: str) -> Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    slug = cn.replace(" ", "-").lower()
    chain, key_file = folder / f"{slug}-chain.pem", folder / f"{slug}.key"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca.cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Signer(chain, key_file)


def build_app(folder: Path, marker: str, *, svn: tuple[int, int] | None = None) -> Path:
    """A UEFI application (x86-64) printing `BOOTED marker`; with `svn`, a BOOTMGRSECURITYVERSIONNUMBER resource."""
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"{marker}.c"
    src.write_text(_APP_C, encoding="utf-8")
    objects = []
    if svn is not None:
        rc = folder / f"{marker}.rc"
        # RCDATA words: minor, then major.
        rc.write_text(f"BOOTMGRSECURITYVERSIONNUMBER RCDATA {{ {svn[1]}, {svn[0]} }}\n", encoding="ascii")
        obj = folder / f"{marker}.res.o"
        proc.run(["x86_64-w64-mingw32-windres", str(rc), "-O", "coff", "-o", str(obj)])
        objects.append(str(obj))
    out = folder / f"{marker}.efi"
    proc.run(
        [
            "x86_64-w64-mingw32-gcc", f"-DMARKER=L\"{marker}\"", "-ffreestanding", "-fshort-wchar", "-mno-red-zone",
            "-nostdlib", "-Wl,--subsystem,10", "-e", "efi_main", "-o", str(out), str(src), *objects,
        ]
    )  # fmt: skip
    return out


def sign(src: Path, signer: Signer, out: Path, *, nest: bool = False) -> Path:
    """Sign with osslsigncode (SHA-256); `nest` adds a nested signature to an already signed file."""
    args = ["osslsigncode", "sign", "-certs", str(signer.chain), "-key", str(signer.key), "-h", "sha256"]
    if nest:
        args.append("-nest")
    out.unlink(missing_ok=True)
    proc.run([*args, "-in", str(src), "-out", str(out)])
    return out


def add_signature_block(signed: Path, other: Path, out: Path) -> Path:
    """`signed` with the WIN_CERTIFICATE entries of `other` (the same file signed by another CA) appended: two
    top-level signature blocks, as Microsoft dual-signs shim."""
    data = bytearray(signed.read_bytes())
    extra = other.read_bytes()
    dir_offset = _security_dir_offset(bytes(data))
    start, size = struct.unpack_from("<II", data, dir_offset)
    o_start, o_size = struct.unpack_from("<II", extra, _security_dir_offset(extra))
    assert start + size == len(data), "the certificate table must end the file"
    data += extra[o_start : o_start + o_size]
    struct.pack_into("<II", data, dir_offset, start, size + o_size)
    out.write_bytes(bytes(data))
    return out


def _security_dir_offset(data: bytes) -> int:
    (pe,) = struct.unpack_from("<I", data, 0x3C)
    optional = pe + 24
    (magic,) = struct.unpack_from("<H", data, optional)
    return optional + (144 if magic == 0x20B else 128)  # data directory 4 (security)


@dataclass(frozen=True)
class Lab:
    """Test CAs standing in for PCA 2011 and Windows UEFI CA 2023, a look-alike of the real 2023 CA, and apps."""

    root: Path
    ca2011: LabCA
    ca2023: LabCA
    lookalike: LabCA
    signer2011: Signer
    signer2023: Signer
    unsigned: Path  # an app with SVN 3.1

    def app(
        self, marker: str, *signers: Signer, nested: Signer | None = None, svn: tuple[int, int] | None = None
    ) -> Path:
        """An app printing `marker`, signed by each of `signers` as its own top-level block, optionally nested."""
        base = build_app(self.root / "apps", marker, svn=svn)
        if not signers:
            return base
        signed = [sign(base, s, self.root / "apps" / f"{marker}.{i}.efi") for i, s in enumerate(signers)]
        result = signed[0]
        for i, other in enumerate(signed[1:], start=1):
            result = add_signature_block(result, other, self.root / "apps" / f"{marker}.dual{i}.efi")
        if nested is not None:
            result = sign(result, nested, self.root / "apps" / f"{marker}.nested.efi", nest=True)
        return result

    def test_cas(self) -> list[tuple[str, Path]]:
        """The `--test-ca` pairs for the lab's CAs."""
        return [("windows-2011", self.ca2011.pem), ("windows-2023", self.ca2023.pem)]


def make_lab(root: Path) -> Lab:
    certs = root / "certs"
    real_2023 = next(x509.load_der_x509_certificate(a.der) for a in MS_ANCHORS if a.ca == efi.WINDOWS_UEFI_CA_2023)
    ca2011 = make_ca(certs, "Lab PCA 2011")
    ca2023 = make_ca(certs, "Lab UEFI CA 2023")
    return Lab(
        root=root,
        ca2011=ca2011,
        ca2023=ca2023,
        lookalike=make_ca(certs, "lookalike", name=real_2023.subject),
        signer2011=make_signer(certs, ca2011, "Lab Windows 2011"),
        signer2023=make_signer(certs, ca2023, "Lab Windows 2023"),
        unsigned=build_app(root / "apps", "unsigned", svn=(3, 1)),
    )


_SIGNED: dict[Path, tuple[dict[str, bytes], dict[str, bytes]]] = {}


def signed_boot_files(lab: Lab) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(image files, media files) for make_winpe_standin: every boot file a real signed EFI app printing its own
    name; the 2011 set signed by the lab's PCA 2011, the _EX set by its UEFI CA 2023 (boot managers with an SVN).
    Made once per lab (a signature records its time, so signing again gives other bytes)."""
    if lab.root not in _SIGNED:
        _SIGNED[lab.root] = _signed_boot_files(lab)
    image, media = _SIGNED[lab.root]
    return dict(image), dict(media)


def _signed_boot_files(lab: Lab) -> tuple[dict[str, bytes], dict[str, bytes]]:
    from examples.standin import standin_boot_files
    from media_builder.fatimage import write_image

    def app(marker: str, signer: Signer, svn: tuple[int, int] | None = None) -> bytes:
        return lab.app(marker, signer, svn=svn).read_bytes()

    def efisys(marker: str, signer: Signer) -> bytes:
        return write_image(lab.root / f"{marker}.bin", {"/EFI/BOOT/BOOTX64.EFI": app(marker, signer)}).read_bytes()

    image = standin_boot_files("amd64")
    image.update(
        {
            "Windows/Boot/EFI/bootmgfw.efi": app("bootmgfw-2011", lab.signer2011, (2, 0)),
            "Windows/Boot/EFI/bootmgr.efi": app("bootmgr-2011", lab.signer2011, (2, 0)),
            "Windows/Boot/PXE/wdsmgfw.efi": app("wdsmgfw-2011", lab.signer2011),
            "Windows/Boot/EFI_EX/bootmgfw_EX.efi": app("bootmgfw-2023", lab.signer2023, (7, 0)),
            "Windows/Boot/EFI_EX/bootmgr_EX.efi": app("bootmgr-2023", lab.signer2023, (7, 0)),
            "Windows/Boot/PXE_EX/wdsmgfw_EX.efi": app("wdsmgfw-2023", lab.signer2023),
            "Windows/Boot/DVD_EX/EFI/en-US/efisys_EX.bin": efisys("cdboot-2023", lab.signer2023),
        }
    )
    media = {
        "efi/boot/bootx64.efi": image["Windows/Boot/EFI/bootmgfw.efi"],
        "bootmgr.efi": image["Windows/Boot/EFI/bootmgr.efi"],
        "efi/microsoft/boot/efisys.bin": efisys("cdboot-2011", lab.signer2011),
    }
    return image, media
