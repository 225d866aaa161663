"""What the simulated Asterisk lists: CLI output for ``Command``, the ``ShowDialPlan`` events.

The texts are Asterisk 22.10.1's (``core show settings`` and friends, as the
startup checks read them: hotline/ami/checks.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from hotline.ami.wire import Headers
from hotline.sim.ami_state import AmiSimState, module_base
from hotline.sim.dialplan import exten_matches, split_app

_SETTINGS_TEMPLATE = """
PBX Core settings
-----------------
  Version:                     {version}
  ABI related Build Options:   OPTIONAL_API
  All Build Options:           BUILD_NATIVE, OPTIONAL_API
  Maximum calls:               Not set
  Maximum open file handles:   20000
  Root console verbosity:      8
  Current console verbosity:   8
  Debug level:                 0
  Trace level:                 0
  Dump core on crash:          No
  Core dump file:              core
  Maximum load average:        0.000000
  Minimum free memory:         0 MB
  Startup time:                {startup}
  Last reload time:            {startup}
  System:                      Linux/6.18.44-fc-v769 built by root on x86_64 2026-11-21 23:49:37 UTC
  System name:                 {system_name}
  Entity ID:                   {entity_id}
  PBX UUID:                    {pbx_uuid}
  Default language:            en
  Language prefix:             Enabled
  User name and group:         /
  Running directory:           /lab
  Executable includes:         Disabled
  Transcode via SLIN:          Enabled
  Transmit silence during rec: Disabled
  Generic PLC:                 Disabled
  Generic PLC on equal codecs: Disabled
  Hide Msg Chan AMI events:    Disabled
  Sounds search custom dir:    Disabled
  Min DTMF duration::          80
  Cache media frames:          Enabled
  RTP use dynamic payloads:    1
  RTP dynamic payload types:   35-63,96-127
  Channel storage backend:     ao2_legacy
  Shell on remote consoles:    Enabled

* Subsystems
  -------------
  Manager (AMI):               Enabled
  Web Manager (AMI/HTTP):      Disabled
  Call data records:           Disabled
  Realtime Architecture (ARA): Disabled

* Directories
  -------------
  Configuration file:          /etc/asterisk/asterisk.conf
  Configuration directory:     /etc/asterisk
  Module directory:            /usr/lib/asterisk/modules
  Spool directory:             /var/spool/asterisk
  Log directory:               /var/log/asterisk
  Run/Sockets directory:       /var/run/asterisk
  PID file:                    /var/run/asterisk/asterisk.pid
  VarLib directory:            /var/lib/asterisk
  Data directory:              /var/lib/asterisk
  ASTDB:                       /var/lib/asterisk/db/astdb
  IAX2 Keys directory:         /var/lib/asterisk/keys
  AGI Scripts directory:       /var/lib/asterisk/agi-bin
  Cache directory:             /var/cache/asterisk

"""

_MODULE_DESCRIPTIONS = {
    "res_agi": "Asterisk Gateway Interface (AGI)",
    "app_dial": "Dialing Application",
    "app_stack": "Dialplan subroutines (Gosub, Return, etc)",
    "res_musiconhold": "Music On Hold Resource",
    "pbx_config": "Text Extension Configuration",
    "app_playback": "Sound File Playback Application",
}

_CHANNELTYPE_FORMAT = "{:<15.15}  {:<40.40} {:<13.13} {:<13.13} {:<13.13} {:<13.13}"
_MODLIST_FORMAT = "{:<30} {:<40.40} {:<10} {:<11} {:>13}"


def cli_output(state: AmiSimState, started_at: float, command: str) -> list[str] | None:
    """CLI output lines for the commands the simulator knows; None: no such command."""
    words = command.split()
    s = state
    if words == ["core", "show", "settings"]:
        startup = datetime.fromtimestamp(started_at).strftime("%H:%M:%S")
        text = _SETTINGS_TEMPLATE.format(
            version=s.asterisk_version,
            startup=startup,
            system_name=s.system_name,
            entity_id=s.entity_id,
            pbx_uuid=s.pbx_uuid,
        )
        return text.split("\n")
    if words == ["core", "show", "version"]:
        return [
            f"Asterisk {s.asterisk_version} built by root @ vm on a x86_64 running Linux "
            "on 2026-11-21 23:49:37 UTC"
        ]
    if words == ["core", "show", "channeltypes"]:
        rows = [
            _CHANNELTYPE_FORMAT.format(
                "Type", "Description", "Devicestate", "Presencestate", "Indications", "Transfer"
            ),
            _CHANNELTYPE_FORMAT.format(*(["-------------"] * 6)),
        ]
        for tech in s.channel_types:
            description = "Local Proxy Channel Driver" if tech == "Local" else f"{tech} driver"
            rows.append(_CHANNELTYPE_FORMAT.format(tech, description, "yes", "no", "yes", "yes"))
        return [*rows, "----------", f"{len(s.channel_types)} channel drivers registered."]
    if words == ["moh", "show", "classes"] and "res_musiconhold" in {
        module_base(m) for m in s.modules
    }:
        lines = []
        for name, mode in s.moh_classes.items():
            lines += [f"Class: {name}", f"\tMode: {mode}", "\tDirectory: moh"]
        return lines
    if words[:3] == ["module", "show", "like"] and len(words) == 4:
        like = words[3].lower()
        matching = sorted(m for m in s.modules if like in module_base(m))
        lines = [
            _MODLIST_FORMAT.format("Module", "Description", "Use Count", "Status", "Support Level")
        ]
        for module in matching:
            base = module_base(module)
            description = _MODULE_DESCRIPTIONS.get(base, base)
            lines.append(_MODLIST_FORMAT.format(f"{base}.so", description, 0, "Running", "core"))
        return [*lines, f"{len(matching)} modules loaded"]
    return None


def dialplan_listing(
    dialplan: Mapping[str, Mapping[str, Sequence[str]]],
    context: str,
    exten: str,
    action_id: str,
) -> list[Headers] | str:
    """``ShowDialPlan``'s events (``ListDialplan``…, ``ShowDialPlanComplete``) or its error."""
    items: list[Headers] = []
    contexts = extens = prios = 0
    context_found = exten_found = False
    tag: Headers = [("ActionID", action_id)] if action_id else []
    for ctx_name, extensions in dialplan.items():
        if context and ctx_name != context:
            continue
        context_found = True
        contexts += 1
        for ext_name, steps in extensions.items():
            if exten and not exten_matches(ext_name, exten):
                continue
            exten_found = True
            extens += 1
            for prio, step in enumerate(steps, start=1):
                prios += 1
                app, appdata = split_app(step)
                items.append(
                    [
                        ("Event", "ListDialplan"),
                        *tag,
                        ("Context", ctx_name),
                        ("Extension", ext_name),
                        ("Priority", str(prio)),
                        ("Application", app),
                        ("AppData", appdata),
                        ("Registrar", "pbx_config"),
                    ]
                )
    if context and not context_found:
        return f"Did not find context {context}"
    if exten and not exten_found:
        where = f"{exten}@{context}" if context else f"{exten} in any context"
        return f"Did not find extension {where}"
    complete: Headers = [
        ("Event", "ShowDialPlanComplete"),
        *tag,
        ("EventList", "Complete"),
        ("ListItems", str(len(items))),
        ("ListExtensions", str(extens)),
        ("ListPriorities", str(prios)),
        ("ListContexts", str(contexts)),
    ]
    return [*items, complete]
