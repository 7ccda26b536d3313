"""A throwaway certificate authority for the sandbox voice server's `wss://`.

Discord's VOICE_SERVER_UPDATE carries a bare `host:port` and every client adds `wss://`, so the
sandbox voice gateway speaks TLS like the real one. `LocalCa` makes a CA (EC P-256, valid for a
day) and a server certificate it signs for `127.0.0.1`, `::1` and `localhost`; clients are told
to trust the CA through a setting (clankvox: `CLANKVOX_CA_FILE`; curl-based clients such as
discord.py-self: `CURL_CA_BUNDLE`), while against real Discord they keep the system roots.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=1)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "clanker sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class LocalCa:
    """A CA and one server certificate it issued. `ca_file` is a PEM file clients can trust
    (written under a private temporary directory, removed by `close()`)."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    _dir: tempfile.TemporaryDirectory[str] = field(repr=False)

    @classmethod
    def generate(cls, hosts: tuple[str, ...] = ("127.0.0.1", "::1", "localhost")) -> LocalCa:
        now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("clanker sandbox voice CA")
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(hosts[0]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        directory = tempfile.TemporaryDirectory(prefix="clanker-voice-ca-")
        ca = cls(
            ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
            cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            key_pem=_pem_key(key),
            _dir=directory,
        )
        Path(ca.ca_file).write_bytes(ca.ca_pem)
        Path(directory.name, "server.pem").write_bytes(ca.cert_pem + ca.key_pem)
        return ca

    @property
    def ca_file(self) -> str:
        """The CA certificate as a PEM file."""
        return str(Path(self._dir.name, "ca.pem"))

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting the issued certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(Path(self._dir.name, "server.pem")))
        return context

    def client_context(self) -> ssl.SSLContext:
        """A TLS client context that trusts only this CA (for our own test clients)."""
        return ssl.create_default_context(cadata=self.ca_pem.decode())

    def close(self) -> None:
        self._dir.cleanup()
