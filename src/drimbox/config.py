"""Typed settings for every DRIMbox role.

Sources, highest priority first: ``DRIMBOX_*`` environment variables (nested keys use ``__``,
e.g. ``DRIMBOX_DIMSE__PORT=11113``), the TOML file given with ``--config`` (or
``DRIMBOX_CONFIG``), then the documented defaults below. Invalid values fail at start-up with the
key and the problem (see :func:`load_settings`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from drimbox.errors import ConfigError

AE_TITLE_PATTERN = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # PS3.5 AE VR: no backslash


def _check_ae_title(value: str) -> str:
    if not AE_TITLE_PATTERN.match(value) or not value.strip():
        raise ValueError("an AE title is 1 to 16 printable ASCII characters, no backslash")
    return value.strip()


class _Section(BaseModel):
    """A nested settings table: a misspelt key is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class PacsNode(_Section):
    """One PACS the Source sits in front of (or the Conso exports to)."""

    name: str = Field(description="Short name used in logs and on the command line")
    ae_title: str = Field(description="Called AE title of the PACS")
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    calling_ae: str = Field(default="DRIMBOX", description="Our AE title when we call this PACS")
    retrieve_method: Literal["move", "get"] = Field(
        default="move", description="C-MOVE to our C-STORE SCP, or C-GET on the same association"
    )
    move_destination: str | None = Field(
        default=None,
        description="AE title the PACS knows for our C-STORE SCP (defaults to dimse.ae_title)",
    )
    index: int = Field(
        default=1, ge=1, description="Index of the public <location> of this PACS (DB.VI-SO.07)"
    )
    public_base_url: str | None = Field(
        default=None,
        description="Public RAD-107 base URL of this PACS location, written as KOS RetrieveURL",
    )

    _ae = field_validator("ae_title", "calling_ae")(_check_ae_title)

    @field_validator("move_destination")
    @classmethod
    def _check_move_destination(cls, value: str | None) -> str | None:
        return None if value is None else _check_ae_title(value)


class DimseSettings(_Section):
    """Our own DICOM node: the C-STORE SCP that receives moved instances, and timeouts."""

    ae_title: str = Field(default="DRIMBOX", description="AE title of our C-STORE SCP")
    host: str = Field(default="127.0.0.1", description="Address the C-STORE SCP binds to")
    port: int = Field(default=11112, ge=0, le=65535, description="0 picks a free port")
    connect_timeout: float = Field(default=10.0, gt=0, description="TCP connect timeout (s)")
    acse_timeout: float = Field(default=30.0, gt=0, description="Association negotiation (s)")
    dimse_timeout: float = Field(default=60.0, gt=0, description="Wait for a DIMSE response (s)")
    network_timeout: float = Field(default=60.0, gt=0, description="Idle network timeout (s)")
    max_pdu: int = Field(default=0, ge=0, description="Maximum PDU we accept, 0 = unlimited")
    poll_interval: float = Field(
        default=0.0001,
        gt=0,
        le=0.01,
        description="How often pynetdicom polls an open association's socket (s); see "
        "drimbox.dicom.dimse.tuning",
    )

    _ae = field_validator("ae_title")(_check_ae_title)


class PacsSimulatorSettings(_Section):
    """The conformance kit's PACS simulator (TE.SIM-PACS)."""

    host: str = "127.0.0.1"
    port: int = Field(default=11120, ge=0, le=65535)
    ae_titles: list[str] = Field(
        default_factory=lambda: ["PACS_SOURCE_1", "PACS_SOURCE_2", "PACS_CONSO"],
        description="AE titles served; each has its own archive view",
    )
    archive_dir: Path | None = Field(
        default=None, description="Folder of DICOM files (default: <data_dir>/pacs-archive)"
    )
    move_destinations: dict[str, str] = Field(
        default_factory=dict, description="Known C-MOVE destinations: AE title -> host:port"
    )
    response_delay: float = Field(default=0.0, ge=0, description="Fault injection: delay (s)")
    refuse_associations: bool = Field(default=False, description="Fault injection: reject all")

    @field_validator("ae_titles")
    @classmethod
    def _check_titles(cls, value: list[str]) -> list[str]:
        return [_check_ae_title(v) for v in value]

    @field_validator("move_destinations")
    @classmethod
    def _check_destinations(cls, value: dict[str, str]) -> dict[str, str]:
        for ae, address in value.items():
            _check_ae_title(ae)
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"destination {ae!r}: expected host:port, got {address!r}")
        return value


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class PscSettings(_Section):
    """Pro Santé Connect token introspection (RFC 7662), used to check RAD-107 bearer tokens."""

    introspection_url: str | None = Field(
        default=None,
        description="PSC introspection endpoint, e.g. https://auth.esw.esante.gouv.fr/auth/realms/"
        "esante-wallet/protocol/openid-connect/token/introspect (plain http: loopback only)",
    )
    client_id: str | None = Field(default=None, description="Our PSC client id")
    client_secret: SecretStr | None = Field(default=None, description="Our PSC client secret")
    auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    timeout: float = Field(default=10.0, gt=0, description="Introspection request timeout (s)")
    cache_ttl_max: float = Field(
        default=300.0, ge=0, description="Longest a positive answer is reused (s), capped by exp"
    )
    negative_cache_ttl: float = Field(
        default=0.0, ge=0, description="How long a refused token stays refused (s); 0 = no cache"
    )
    cache_max_entries: int = Field(default=10_000, ge=1, description="Token cache size (LRU)")

    @field_validator("introspection_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme == "https" and parts.hostname:
            return value
        if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
            return value
        raise ValueError("expected an https:// URL (plain http only to a loopback host)")

    @model_validator(mode="after")
    def _check_credentials(self) -> PscSettings:
        if self.introspection_url and not (self.client_id and self.client_secret):
            raise ValueError("introspection_url needs client_id and client_secret")
        return self


class TlsSettings(_Section):
    """HTTPS for our web listener; mutual TLS when client_ca is set (TLS 1.2 minimum)."""

    certificate: Path | None = Field(
        default=None, description="PEM server certificate, followed by its intermediate CA(s)"
    )
    private_key: Path | None = Field(default=None, description="PEM private key (unencrypted)")
    client_ca: Path | None = Field(
        default=None,
        description="PEM CA certificate(s) trusted for client certificates; set = mTLS required",
    )
    allow_plain_http: bool = Field(
        default=False, description="Serve plain HTTP when no certificate is set (explicit opt-in)"
    )

    @model_validator(mode="after")
    def _check_pairs(self) -> TlsSettings:
        if (self.certificate is None) != (self.private_key is None):
            raise ValueError("certificate and private_key go together")
        if self.client_ca is not None and self.certificate is None:
            raise ValueError("client_ca (mutual TLS) needs certificate and private_key")
        return self


class MllpSettings(_Section):
    """The HL7v2 listener of the Source (reports from the RIS, TE.SIM-HL7)."""

    host: str = Field(default="127.0.0.1", description="Address the MLLP listener binds to")
    port: int = Field(default=2575, ge=0, le=65535, description="0 picks a free port")
    max_message_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    receiving_application: str = Field(default="DRIMBOX", description="MSH-3 of our ACKs")
    receiving_facility: str = Field(default="", description="MSH-4 of our ACKs")


class RetrySettings(_Section):
    """Back-off of messages whose processing failed for a transient reason (PACS down)."""

    base_seconds: float = Field(default=30.0, gt=0)
    cap_seconds: float = Field(default=3600.0, gt=0)
    factor: float = Field(default=2.0, ge=1)
    max_attempts: int | None = Field(default=None, ge=1, description="None: retry forever")


class IocmSettings(_Section):
    """C-STORE SCP receiving IOCM rejection notes (Key Object Selection) from the PACS."""

    enabled: bool = True
    ae_title: str = "DRIMBOX_IOCM"
    host: str = "127.0.0.1"
    port: int = Field(default=11113, ge=0, le=65535, description="0 picks a free port")

    _ae = field_validator("ae_title")(_check_ae_title)


class WadoSettings(_Section):
    """RAD-107 WADO-RS retrieve served by the Source (see docs/rad107.md)."""

    prefer_passthrough: bool = Field(
        default=False,
        description="Send the stored syntax whenever the client accepts it at all (q > 0)",
    )
    default_lossy_syntax: str = Field(
        default="1.2.840.10008.1.2.4.51", description="Syntax the warm cache pre-transcodes to"
    )
    pacs_timeout: float = Field(
        default=60.0, gt=0, description="Longest wait for a PACS answer (s), then 504 (E208)"
    )
    transcode_workers: int = Field(
        default=0, ge=0, le=64, description="Transcoding processes; 0 = one per CPU"
    )
    max_in_flight: int = Field(
        default=0, ge=0, description="Instances read ahead per request; 0 = 2 x workers"
    )


class CacheSettings(_Section):
    """Warm cache of RAD-107 series: pre-fetched, pre-transcoded, bounded on disk (LRU)."""

    enabled: bool = Field(default=False, description="Keep served/pre-fetched series on disk")
    dir: Path | None = Field(default=None, description="Default: <data_dir>/rad107-cache")
    max_bytes: int = Field(default=20 * 1024**3, ge=0, description="Size bound (LRU eviction)")
    prefetch_on_kos: bool = Field(
        default=True, description="Pre-fetch and pre-transcode a study when its KOS is created"
    )
    keep_lossless: bool = Field(
        default=True, description="Also keep the stored (lossless) copy when pre-fetching"
    )


class HealthSettings(_Section):
    """Thresholds of ``GET /health`` (the "météo des services")."""

    min_free_disk_bytes: int = Field(
        default=1024**3, ge=0, description="Below this free space on data_dir, health is 503"
    )
    pacs_timeout: float = Field(default=5.0, gt=0, description="C-ECHO budget per PACS (s)")
    database_timeout: float = Field(default=5.0, gt=0, description="SELECT 1 budget (s)")


class SourceSettings(_Section):
    """The DRIMbox Source role: ingestion, KOS authoring, admin API."""

    mllp: MllpSettings = Field(default_factory=MllpSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    iocm: IocmSettings = Field(default_factory=IocmSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    wado: WadoSettings = Field(default_factory=WadoSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    workers: int = Field(default=1, ge=1, le=16, description="Inbox processing workers")
    uid_root: str | None = Field(
        default=None, description="Org UID root for KOS UIDs; default UUID-derived 2.25."
    )
    retrieve_location_uid: str = Field(
        default="2.25.27349720743215599056295092309936537742",
        description="RetrieveLocationUID written in the KOS evidence; set your own per site",
    )
    manufacturer: str = "DRIMbox open"
    institution_fallback: str = Field(
        default="", description="Institution Name when the report names no organisation"
    )
    http_enabled: bool = Field(
        default=True,
        description="Serve HTTP (RAD-107 when [psc] is configured, /health, /admin)",
    )
    http_host: str = Field(default="127.0.0.1", description="Address of the Source HTTP server")
    http_port: int = Field(default=8080, ge=0, le=65535)
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token required by the admin HTTP API; unset = admin API disabled",
    )


class KitSettings(_Section):
    pacs: PacsSimulatorSettings = Field(default_factory=PacsSimulatorSettings)


class Settings(BaseSettings):
    """Effective configuration of one DRIMbox process."""

    model_config = SettingsConfigDict(
        env_prefix="DRIMBOX_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(
        default=Path("./var"), description="Where the database, caches and archives live"
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/drimbox.sqlite3. "
        "postgresql+psycopg://user:pass@host/db or postgresql+asyncpg://… for PostgreSQL",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    dimse: DimseSettings = Field(default_factory=DimseSettings)
    pacs: list[PacsNode] = Field(default_factory=list, description="PACS behind this DRIMbox")
    kit: KitSettings = Field(default_factory=KitSettings)
    psc: PscSettings = Field(default_factory=PscSettings)
    source: SourceSettings = Field(default_factory=SourceSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)

    @model_validator(mode="after")
    def _check_pacs_unique(self) -> Settings:
        names = [p.name for p in self.pacs]
        indexes = [p.index for p in self.pacs]
        if len(set(names)) != len(names):
            raise ValueError("pacs: each PACS needs a distinct name")
        if len(set(indexes)) != len(indexes):
            raise ValueError("pacs: each PACS needs a distinct index")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def effective_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'drimbox.sqlite3').resolve()}"

    def pacs_by_name(self, name: str) -> PacsNode:
        for node in self.pacs:
            if node.name == name:
                return node
        known = ", ".join(p.name for p in self.pacs) or "none configured"
        raise ConfigError(f"unknown PACS {name!r} (known: {known})")


def _format_validation_error(error: ValidationError, origin: str) -> str:
    lines = [f"invalid configuration ({origin}):"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(root)"
        lines.append(f"  {key}: {item['msg']}")
    return "\n".join(lines)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from env + optional TOML file; raise ConfigError naming bad keys."""
    env_path = os.environ.get("DRIMBOX_CONFIG")
    path = config_file or (Path(env_path) if env_path else None)
    if path is not None and not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")

    class _FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    origin = str(path) if path else "environment and defaults"
    try:
        return _FileSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, origin)) from None
    except ValueError as exc:  # TOML syntax errors surface as TOMLDecodeError(ValueError)
        raise ConfigError(f"invalid configuration ({origin}): {exc}") from None


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data, secrets and URL passwords masked."""
    data = settings.model_dump(mode="json")
    data["database_url"] = _mask_url(settings.effective_database_url)
    return data


def _mask_url(url: str) -> str:
    # Greedy up to the last "@": a password with a stray "@" must not leak its tail.
    return re.sub(r"(://[^:/@]+:).*@", r"\1***@", url)
