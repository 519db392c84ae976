"""A throwaway PKI and a private Mosquitto configured as a deployment is: a TLS listener that
wants a client certificate from our CA, a password per gate, and the ACL that
``protocol.topics.gate_acl`` renders. Used by test_link_mqtt_tls.py; nothing here is a secret."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from protocol.topics import central_acl, gate_acl

PORTS = range(1890, 1900)  # the ports this project's tests may give a private broker


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str
    cert_file: Path
    key_file: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


class CertificateAuthority:
    """A CA that lives for one test: signs the broker's server certificate and client certificates."""

    def __init__(self, directory: Path, name: str = "autogate test CA") -> None:
        self.directory = directory
        self.key = _key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.timezone.utc)
        self.cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_file = directory / f"{name.replace(' ', '-')}.pem"
        self.cert_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, common_name: str, *, server: bool = False) -> tuple[Path, Path]:
        key = _key()
        now = dt.datetime.now(dt.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        else:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        cert_file = self.directory / f"{common_name}.crt"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cert_file, _write_key(key, self.directory / f"{common_name}.key")


def free_port(ports: range = PORTS) -> int:
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1} for a private broker")


def render_config(*, port: int, ca: CertificateAuthority, server: tuple[Path, Path], password_file: Path,
                  acl_file: Path, log_file: Path) -> str:
    lines = [
        "per_listener_settings false",
        "allow_anonymous false",
        "persistence false",
        f"password_file {password_file}",
        f"acl_file {acl_file}",
        f"log_dest file {log_file}",
        "log_type all",
        f"listener {port} 127.0.0.1",
        f"cafile {ca.cert_file}",
        f"certfile {server[0]}",
        f"keyfile {server[1]}",
        "require_certificate true",
        "tls_version tlsv1.2",
    ]
    if os.geteuid() == 0:
        lines.append("user root")  # Mosquitto would drop to `mosquitto`, who cannot read a test's tmp dir
    return "\n".join(lines) + "\n"


@dataclass
class TlsBroker:
    host: str
    port: int
    ca: CertificateAuthority
    users: dict[str, Credentials]
    log_file: Path


def _wait_listening(port: int, process: subprocess.Popen, timeout_s: float = 10.0) -> None:
    tick = threading.Event()
    for _ in range(int(timeout_s / 0.05)):
        if process.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        tick.wait(0.05)
    raise RuntimeError(f"mosquitto did not listen on {port}")


@contextmanager
def tls_mosquitto(directory: Path, gate_ids: list[str], central_user: str = "central-ingest") -> Iterator[TlsBroker]:
    """Start Mosquitto with TLS, per-gate passwords and client certificates, and the rendered ACL."""
    mosquitto, passwd = shutil.which("mosquitto") or "/usr/sbin/mosquitto", shutil.which("mosquitto_passwd")
    if not Path(mosquitto).exists() or passwd is None:
        raise FileNotFoundError("mosquitto and mosquitto_passwd are needed (Debian: apt install mosquitto)")
    ca = CertificateAuthority(directory)
    server = ca.issue("broker", server=True)
    users: dict[str, Credentials] = {}
    password_file = directory / "passwords"
    for index, user in enumerate([*gate_ids, central_user]):
        password = f"pw-{user}-{index}"
        cert, key = ca.issue(user)
        users[user] = Credentials(user, password, cert, key)
        subprocess.run([passwd, "-b", *(["-c"] if index == 0 else []), str(password_file), user, password],
                       check=True, capture_output=True)
    acl_file = directory / "acl"
    acl_file.write_text("\n".join([*(gate_acl(g) for g in gate_ids), central_acl(central_user)]))
    port = free_port()
    log_file = directory / "mosquitto.log"
    config = directory / "mosquitto.conf"
    config.write_text(render_config(port=port, ca=ca, server=server, password_file=password_file,
                                    acl_file=acl_file, log_file=log_file))
    process = subprocess.Popen([mosquitto, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_listening(port, process)
        yield TlsBroker("127.0.0.1", port, ca, users, log_file)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
