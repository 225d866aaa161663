"""What the simulated Asterisk is: version, modules, dialplan, MOH, identity, credentials."""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.sim.dialplan import default_dialplan

#: modules a hotline needs, as Asterisk names them (ModuleCheck ignores ".so")
DEFAULT_MODULES = frozenset(
    {
        "res_agi",
        "app_dial",
        "app_stack",
        "res_musiconhold",
        "pbx_config",
        "app_playback",
        "res_manager_devicestate",  # DeviceStateList (the agent board)
    }
)


def module_base(name: str) -> str:
    """Asterisk compares module names without a ".so" suffix, case-insensitively."""
    return name.strip().lower().removesuffix(".so")


@dataclass
class AmiSimState:
    """What the simulated PBX is: version, modules, dialplan, MOH, identity, credentials."""

    username: str = "hotline"
    secret: str = "hotline-secret"  # noqa: S105 - the lab's test credential
    asterisk_version: str = "22.10.1"
    ami_version: str = "11.0.0"
    entity_id: str = "02:fc:00:00:00:01"
    pbx_uuid: str = "290293f0-7be7-4800-96e2-b41d265a3015"
    system_name: str = ""
    modules: set[str] = field(default_factory=lambda: set(DEFAULT_MODULES))
    channel_types: list[str] = field(default_factory=lambda: ["Local"])
    #: context -> extension -> "App(data)" per priority (1, 2, ...)
    dialplan: dict[str, dict[str, list[str]]] = field(default_factory=default_dialplan)
    #: MOH class name -> mode
    moh_classes: dict[str, str] = field(default_factory=lambda: {"default": "files"})
    globals: dict[str, str] = field(default_factory=dict)
    #: device -> state as DeviceStateList reports it (``AmiServer.set_device_state`` changes it)
    device_states: dict[str, str] = field(default_factory=dict)
    #: seconds Asterisk waits before answering a wrong secret (1 s in manager.c)
    auth_failure_delay: float = 1.0
