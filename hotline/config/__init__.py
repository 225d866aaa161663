"""Configuration: one TOML file, overridable by ``HOTLINE_…`` environment variables.

Loaded and validated once at startup into a frozen :class:`Settings` that is
passed explicitly to whatever needs it; there is no global settings object.

Precedence, highest first: environment (``HOTLINE_ASTERISK__SECRET``, nested
with ``__``), then the TOML file, then the defaults of the section models.
Secrets (AMI secret, PINs, license keys) may also come from files
(``secret_file``, ``pin_file``, ``module_key_file``…, or ``HOTLINE_…_FILE`` in
the environment) so that they need not sit in the TOML: Docker and systemd
secrets work as is.

Every problem is reported as one line naming the file, the field path
(``hotlines[1].targets[0].number``) and what is wrong; see :func:`load_settings`.

The package along its seams:

* :mod:`~hotline.config.fields`: validated value types and :class:`ConfigModel`,
  the base of every section;
* :mod:`~hotline.config.files`: the config and secret files, small regular files only;
* :mod:`~hotline.config.sections`: ``[asterisk]``, ``[agi]``, ``[license]``, ``[logging]``;
* :mod:`~hotline.config.hotlines`: ``[[hotlines]]``;
* :mod:`~hotline.config.targets`: a hotline's or a shift's targets, dialplan destinations;
* :mod:`~hotline.config.schedule`: a hotline's opening hours, holidays and shifts;
* :mod:`~hotline.config.pin_guard`: ``[pin_guard]``, lockouts after failed PIN calls;
* :mod:`~hotline.config.journal`, :mod:`~hotline.config.metrics`: ``[journal]``, ``[metrics]``;
* :mod:`~hotline.config.settings`: :class:`Settings`, one field per section;
* :mod:`~hotline.config.environment`: the ``HOTLINE_…`` variables;
* :mod:`~hotline.config.problems`: validation errors as one line each;
* :mod:`~hotline.config.loading`: finding, reading and validating the file.

A new section is a :class:`ConfigModel` subclass in its own module and one field
of :class:`Settings`; its ``HOTLINE_<SECTION>__<KEY>`` variables work from then on.
"""

from hotline.config.environment import CONFIG_ENV
from hotline.config.fields import MAX_RING_TIME, ConfigModel
from hotline.config.hotlines import ConfirmConfig, HotlineConfig
from hotline.config.loading import (
    DEFAULT_CONFIG_PATH,
    config_path,
    load_settings,
    settings_from_mapping,
)
from hotline.config.problems import format_validation_error
from hotline.config.sections import AgiConfig, AsteriskConfig, LicenseConfig, LoggingConfig
from hotline.config.settings import Settings
from hotline.config.targets import FallbackConfig, Target

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_PATH",
    "MAX_RING_TIME",
    "AgiConfig",
    "AsteriskConfig",
    "ConfigModel",
    "ConfirmConfig",
    "FallbackConfig",
    "HotlineConfig",
    "LicenseConfig",
    "LoggingConfig",
    "Settings",
    "Target",
    "config_path",
    "format_validation_error",
    "load_settings",
    "settings_from_mapping",
]
