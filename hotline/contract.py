"""The contract between the runtime and Asterisk's dialplan, written down once.

Everything the runtime and the dialplan must agree on lives here, and
everything else is made from it or checked against it: the shipped
docker/asterisk/etc/extensions.conf, the README's snippet and the prompt slots
the flows play (tests/structure/test_contract.py), the startup checks' fix-it
snippets (hotline/ami/checks.py), the simulator's dialplan
(hotline/sim/dialplan.py), the flows (hotline/flow) and the prompt check
(hotline/check.py).

The contract (docs/architecture.md tells why it is shaped like this):

* each hotline number runs ``AGI(agi://host:port/hotline/<name>)``
  (:func:`hotline_route`), then plays a stock message and hangs up: that is
  what a caller hears when the runtime is down or refuses the call;
* the caller leg dials each agent with ``U(hotline-confirm^<ARG1>^…^<ARG4>)``
  (:data:`CONFIRM_CONTEXT`, :data:`CONFIRM_ARGS` in that order);
* ``[hotline-confirm]`` runs the ``confirm`` route (:data:`CONFIRM_ROUTE`) with
  those arguments, reads the verdict the route left in ``HOTLINE_CONFIRM``
  (:data:`VERDICT_VARIABLE`) and returns it; only ``ACCEPTED`` bridges
  (fail-closed: an empty verdict returns ``ERROR``).  It sets ``GOSUB_RESULT``
  too, because app_dial copies the ``Return()`` value to the caller's
  ``GOSUB_RETVAL`` only when the agent's channel has a ``GOSUB_RESULT``
  (app_dial.c, seen on Asterisk 22): the verdict travels back on the channel;
* a parallel step (several agents rung at once) dials one Local channel per
  agent into ``[hotline-step]`` (:data:`STEP_CONTEXT`):
  ``Dial(Local/1@hotline-step&Local/2@hotline-step,…)``.  app_dial runs ``U()``
  only on the first leg that answers and hangs up the others, so one
  ``Dial(A&B,…,U(…))`` cannot ask every agent; instead each Local leg dials its
  own agent with the confirm subroutine (the approach of FreePBX ring groups
  with confirmation) and so answers the caller's Dial only once its agent
  pressed 1.  The caller leg leaves what the legs need in variables they
  inherit (``_`` prefix; core_local copies ``;1``'s variables to ``;2``):
  :data:`STEP_VARIABLE` (:func:`step_value`) and one :data:`LEG_VARIABLE` per
  leg (:func:`leg_value`).  When a leg wins, app_dial hangs the other legs up
  with cause 26 "answered elsewhere", which core_unreal and the leg's own Dial
  pass on to the agents' phones (app_dial.c, core_unreal.c): no missed call.
"""

from __future__ import annotations

from collections.abc import Sequence

#: where the dialplan reaches the runtime by default (``[agi]`` bind and port)
DEFAULT_AGI_BASE = "agi://127.0.0.1:4573"
#: the AGI route of a hotline number is this prefix and the hotline's name
HOTLINE_ROUTE_PREFIX = "hotline/"
#: the AGI route ``[hotline-confirm]`` runs on the agent's channel
CONFIRM_ROUTE = "confirm"
#: the subroutine Dial's ``U()`` option runs on the answered agent's channel
CONFIRM_CONTEXT = "hotline-confirm"
#: the subroutine's arguments, ARG1 first, with what each carries; the caller
#: leg passes them in this order and the subroutine hands them on unchanged
CONFIRM_ARGS: tuple[tuple[str, str], ...] = (
    ("call_id", "caller's uniqueid"),
    ("hotline", "hotline"),
    ("target", "target number"),
    ("caller_digits", "caller's digits"),
)
#: the channel variable the confirm route leaves its verdict in
VERDICT_VARIABLE = "HOTLINE_CONFIRM"

#: the context a parallel step's Local legs run in
STEP_CONTEXT = "hotline-step"
#: on the caller, inherited by the legs: call id ^ hotline ^ caller's digits
STEP_VARIABLE = "HOTLINE_STEP"
#: on the caller, + the leg's number: delay ^ dial string ^ ring time ^ target number
LEG_VARIABLE = "HOTLINE_LEG_"

#: the confirm route's verdicts, as the subroutine returns them
ACCEPTED = "ACCEPTED"
DECLINED = "DECLINED"
TIMEOUT = "TIMEOUT"
AGENT_HANGUP = "AGENT_HANGUP"
CALLER_GONE = "CALLER_GONE"
#: the agent pressed 1, but a colleague on another leg of the step was first
TAKEN = "TAKEN"
ERROR = "ERROR"
#: the GOSUB_RESULT that makes app_dial drop the agent and return to the caller
CONTINUE = "CONTINUE"

#: prompt slots each flow plays: always, and only with a PIN / an announced
#: caller number / an announced fallback
CALLER_SLOTS = ("intro", "please_hold", "nobody_available")
PIN_SLOTS = ("enter_pin", "wrong_pin", "goodbye")
FALLBACK_SLOTS = ("fallback",)
CONFIRM_SLOTS = ("confirm_call", "accepted", "caller_gone")
#: played to an agent of a parallel step whom a colleague beat to it
STEP_SLOTS = ("taken",)
ANNOUNCE_CALLER_SLOTS = ("caller_number_is",)
#: played when a call arrives while the hotline's schedule says closed
CLOSED_SLOTS = ("closed",)


def hotline_route(name: str) -> str:
    """The AGI route (script path) of hotline ``name``."""
    return f"{HOTLINE_ROUTE_PREFIX}{name}"


def confirm_gosub(args: Sequence[str]) -> str:
    """Dial's ``U()`` argument: the subroutine and its arguments, ``^``-separated."""
    if len(args) != len(CONFIRM_ARGS):
        raise ValueError(f"the confirm subroutine takes {len(CONFIRM_ARGS)} arguments")
    return "^".join((CONFIRM_CONTEXT, *args))


def played_slots(
    *,
    pin: bool,
    announce_caller: bool,
    announce_fallback: bool,
    announce_closed: bool = False,
    parallel: bool = False,
) -> list[str]:
    """The prompt slots the caller and confirm flows play for a hotline configured so."""
    slots = [*CALLER_SLOTS, *CONFIRM_SLOTS]
    if parallel:
        slots += STEP_SLOTS
    if pin:
        slots += PIN_SLOTS
    if announce_caller:
        slots += ANNOUNCE_CALLER_SLOTS
    if announce_fallback:
        slots += FALLBACK_SLOTS
    if announce_closed:
        slots += CLOSED_SLOTS
    return slots


# -- the dialplan, as (label, "App(data)") per priority -------------------------


def confirm_agi(agi_base: str) -> str:
    """The subroutine's AGI step: the confirm route with ``${ARG1}``… in order."""
    args = ",".join(f"${{ARG{n}}}" for n in range(1, len(CONFIRM_ARGS) + 1))
    return f"AGI({agi_base}/{CONFIRM_ROUTE},{args})"


def confirm_steps(agi_base: str) -> list[tuple[str, str]]:
    """``[hotline-confirm]``'s extension ``s``: ``(label, "App(data)")`` per priority."""
    verdict = f"${{{VERDICT_VARIABLE}}}"
    return [
        ("", f"Set({VERDICT_VARIABLE}=)"),
        ("", confirm_agi(agi_base)),
        ("", f'GotoIf($["{verdict}" = "{ACCEPTED}"]?ok)'),
        ("", f"Set(GOSUB_RESULT={CONTINUE})"),
        ("", f'Return(${{IF($["{verdict}" = ""]?{ERROR}:{verdict})}})'),
        ("ok", f"Set(GOSUB_RESULT={ACCEPTED})"),
        ("", f"Return({ACCEPTED})"),
    ]


#: what a caller hears when the runtime is down or refuses the call (an Asterisk core sound)
STOCK_MESSAGE = "ss-noservice"


def hotline_steps(
    name: str, agi_base: str, *, message: str | None = STOCK_MESSAGE
) -> list[tuple[str, str]]:
    """A hotline number: the route, then (if the runtime did not take the call) ``message``."""
    played = [("", f"Playback({message})")] if message else []
    return [("", f"AGI({agi_base}/{hotline_route(name)})"), *played, ("", "Hangup()")]


def step_value(call_id: str, hotline: str, caller_digits: str) -> str:
    """:data:`STEP_VARIABLE`'s value (the confirm subroutine's arguments 1, 2 and 4)."""
    return "^".join((call_id, hotline, caller_digits))


def leg_value(delay: int, dial_string: str, ring_time: int, target: str) -> str:
    """One leg's :data:`LEG_VARIABLE` value."""
    return "^".join((str(delay), dial_string, str(ring_time), target))


def step_leg(number: int) -> str:
    """The dial string of a parallel step's leg ``number`` (1-based)."""
    return f"Local/{number}@{STEP_CONTEXT}"


def step_steps() -> list[tuple[str, str]]:
    """``[hotline-step]``'s legs: wait the delay, dial the agent with the confirm subroutine."""
    leg = "LEG"
    step = STEP_VARIABLE
    gosub = "^".join(
        (
            CONFIRM_CONTEXT,
            f"${{CUT({step},^,1)}}",
            f"${{CUT({step},^,2)}}",
            f"${{CUT({leg},^,4)}}",
            f"${{CUT({step},^,3)}}",
        )
    )
    return [
        ("", f"Set({leg}=${{{LEG_VARIABLE}${{EXTEN}}}})"),
        ("", f'GotoIf($["${{{leg}}}" = ""]?end)'),
        ("", f"ExecIf($[${{CUT({leg},^,1)}} > 0]?Wait(${{CUT({leg},^,1)}}))"),
        ("", f"Dial(${{CUT({leg},^,2)}},${{CUT({leg},^,3)}},U({gosub}))"),
        ("end", "Hangup()"),
    ]


#: the legs' extension: the leg's number, 1 or more digits
STEP_EXTEN = "_X!"


def step_conf(context: str = STEP_CONTEXT) -> list[str]:
    """``[hotline-step]`` as extensions.conf lines (without comments)."""
    return [f"[{context}]", *conf_lines(STEP_EXTEN, step_steps())]


def conf_lines(exten: str, steps: Sequence[tuple[str, str]]) -> list[str]:
    """One extension as extensions.conf writes it (``exten =>`` then `` same => n``)."""
    lines = []
    for index, (label, app) in enumerate(steps):
        priority = "1" if index == 0 else "n"
        head = f"exten => {exten}," if index == 0 else " same => "
        tag = f"({label})" if label else ""
        lines.append(f"{head}{priority}{tag},{app}")
    return lines


def confirm_conf(agi_base: str, context: str = CONFIRM_CONTEXT) -> list[str]:
    """``[hotline-confirm]`` as extensions.conf lines (without comments)."""
    return [f"[{context}]", *conf_lines("s", confirm_steps(agi_base))]


# -- several runtimes: hagi:// and DNS SRV (docker/ha/) --------------------------

#: what res_agi.c puts before the host of ``hagi://host/…`` to ask DNS for SRV records
HAGI_SRV_PREFIX = "_agi._tcp."
#: the example's SRV domain: ``hagi://hotline.internal/…`` asks for ``_agi._tcp.hotline.internal``
HAGI_EXAMPLE_DOMAIN = "hotline.internal"


def hagi_base(domain: str) -> str:
    """The AGI base for every runtime behind ``domain``'s SRV records (no port: a port
    in a ``hagi://`` URL switches the SRV lookup off, res_agi.c)."""
    return f"hagi://{domain}"


def hagi_srv_name(domain: str) -> str:
    """The DNS name Asterisk asks for SRV records for ``hagi://domain/…``."""
    return f"{HAGI_SRV_PREFIX}{domain}"
