"""Settings fragments every service composes into its own typed ``Settings``.

Defaults are the embedded mode (SQLite under var/, embedded broker). ``DATABASE_URL`` and
``KAFKA_BOOTSTRAP_SERVERS`` may be given unprefixed (one container, one service) or with the
service prefix (several services sharing one ``.env``); the prefixed name wins.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Where embedded-mode state lives (SQLite files, broker address file, bench results).
VAR_DIR = Path("var")

Environment = Literal["development", "test", "production"]

PLACEHOLDER_SECRET = "change-me"

#: Connection settings also read without the service prefix.
UNPREFIXED = ("database_url", "kafka_bootstrap_servers")


def service_settings_config(prefix: str) -> SettingsConfigDict:
    """The pydantic-settings config every service uses: one prefix, ``.env`` honoured."""
    return SettingsConfigDict(
        env_prefix=prefix,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )


def _aliased(prefix: str, name: str) -> AliasChoices:
    return AliasChoices(f"{prefix}{name}", name)


class ServiceSettings(BaseSettings):
    """Base for each service's Settings: database, broker, HTTP and runtime knobs."""

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000

    environment: Environment = Field(
        default="development", validation_alias=AliasChoices("HEEMANG_ENV", "ENVIRONMENT")
    )
    host: str = "127.0.0.1"
    port: int = 0  # 0 → the class's default_port
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=AliasChoices("LOG_JSON"))

    database_url: str = ""  # empty → SQLite file var/<service>.db
    database_echo: bool = False

    kafka_bootstrap_servers: str = ""  # empty → the embedded broker's address file
    kafka_address_file: str = str(VAR_DIR / "broker.json")
    kafka_enable_idempotence: bool = False  # the embedded broker lacks InitProducerId
    kafka_client_id: str = ""
    kafka_session_timeout_ms: int = 10_000
    kafka_request_timeout_ms: int = 10_000
    # tansu does not answer a waiting fetch when data arrives, so the wait is added to every
    # hop; a short wait costs a few idle fetches and saves 100s of ms of latency.
    kafka_fetch_max_wait_ms: int = 25

    outbox_batch_size: int = 500
    outbox_poll_interval_s: float = 0.05
    outbox_retention_days: int = 7
    outbox_max_backoff_s: float = 10.0

    consumer_max_attempts: int = 5
    consumer_retry_base_s: float = 0.05
    consumer_batch_size: int = 500

    ops_token: str = PLACEHOLDER_SECRET  # bearer token for the /ops endpoints (dead letters)

    # Verifying the gateway's access tokens (heemang_common.auth). Keys come from the JWKS URL
    # (refetched on an unknown kid) and/or an inline JWKS document.
    auth_jwks_url: str = Field(
        default="http://127.0.0.1:8000/.well-known/jwks.json",
        validation_alias=AliasChoices("AUTH_JWKS_URL"),
    )
    auth_jwks: str = Field(default="", validation_alias=AliasChoices("AUTH_JWKS"))
    auth_issuer: str = Field(default="heemang-gateway", validation_alias=AliasChoices("AUTH_ISSUER"))
    auth_audience: str = Field(default="heemang", validation_alias=AliasChoices("AUTH_AUDIENCE"))
    auth_leeway_s: float = 5.0

    @model_validator(mode="before")
    @classmethod
    def _accept_unprefixed(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in UNPREFIXED:
                if not data.get(name) and os.environ.get(name.upper()):
                    data[name] = os.environ[name.upper()]
        return data

    @model_validator(mode="after")
    def _fill_defaults(self) -> ServiceSettings:
        if not self.port:
            self.port = self.default_port
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{VAR_DIR / (self.service_name + '.db')}"
        if not self.kafka_client_id:
            self.kafka_client_id = f"heemang-{self.service_name}"
        if self.environment == "production" and self.ops_token == PLACEHOLDER_SECRET:
            raise ValueError(f"{self.env_prefix()}OPS_TOKEN must be set outside development")
        return self

    @classmethod
    def env_prefix(cls) -> str:
        return str(cls.model_config.get("env_prefix", ""))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def env_names(settings_cls: type[BaseSettings]) -> set[str]:
    """Every environment variable name a Settings class reads (upper case).

    Used by the deploy test to check that manifests only set variables the code knows.
    """
    prefix = str(settings_cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in settings_cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    # The two connection settings are also read unprefixed (see module docstring).
    names.update(name.upper() for name in UNPREFIXED)
    return names
