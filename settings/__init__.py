"""One home for the settings every part shares, so no default is spelled twice.

Precedence everywhere: command-line flags > environment (`CCEE_WEBHOOK_*`) > the TOML file
(`$CCEE_WEBHOOK_CONFIG`, default `./ccee-webhook.toml`, the same file that lists CCEE profiles)
> the defaults below. Secrets (URL tokens, passwords) come only from the environment or from
files, never from the TOML file itself or from flags.

This package depends on no part of the product; every part may use it.
"""

from settings.alerts import AlertSettings, alert_settings
from settings.calendar import (
    CCEE_TZ,
    CCEE_TZ_NAME,
    PARTITIONS_START_ENV,
    ccee_day,
    partitions_start,
)
from settings.config_file import (
    CONFIG_ENV,
    DEFAULT_CONFIG_FILE,
    ENV_PREFIX,
    SettingsError,
    config_file_path,
    load_config_file,
)
from settings.paths import (
    CACHE_DIR_ENV,
    DATA_DIR_ENV,
    DATA_DIR_ORDER,
    DEFAULT_DATA_DIR,
    LAKE_URL_ENV,
    LakeLocation,
    S3Lake,
    cache_dir,
    data_dir,
    lake_location,
    lake_root,
    lake_url,
    parse_lake_url,
    reports_dir,
    warehouse_path,
)
from settings.receiver import (
    DEFAULT_COMMIT_DELAY_MS,
    DEFAULT_MAX_BODY,
    DEFAULT_PUBLISH_AFTER_MS,
    ReceiverSettings,
    parse_size,
    receiver_settings,
)
from settings.tokens import TOKENS_ENV, TOKENS_FILE_ENV, SenderToken, parse_tokens, tokens_from_env

__all__ = [
    "CACHE_DIR_ENV",
    "CCEE_TZ",
    "CCEE_TZ_NAME",
    "CONFIG_ENV",
    "DATA_DIR_ENV",
    "DATA_DIR_ORDER",
    "DEFAULT_COMMIT_DELAY_MS",
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_DATA_DIR",
    "DEFAULT_MAX_BODY",
    "DEFAULT_PUBLISH_AFTER_MS",
    "ENV_PREFIX",
    "LAKE_URL_ENV",
    "PARTITIONS_START_ENV",
    "TOKENS_ENV",
    "TOKENS_FILE_ENV",
    "AlertSettings",
    "LakeLocation",
    "ReceiverSettings",
    "S3Lake",
    "SenderToken",
    "SettingsError",
    "alert_settings",
    "cache_dir",
    "ccee_day",
    "config_file_path",
    "data_dir",
    "lake_location",
    "lake_root",
    "lake_url",
    "load_config_file",
    "parse_lake_url",
    "parse_size",
    "parse_tokens",
    "partitions_start",
    "receiver_settings",
    "reports_dir",
    "tokens_from_env",
    "warehouse_path",
]
