"""Startup checks and the PBX identity against the simulated AMI."""

from __future__ import annotations

import pytest

from hotline.ami.checks import HotlineEntry, StartupReport, parse_version, run_startup_checks
from hotline.ami.client import AmiClient
from hotline.ami.errors import AmiActionError
from hotline.ami.identity import parse_core_settings, read_identity
from hotline.sim.ami_server import AmiServer
from tests.ami.conftest import ClientFactory

MAIN = HotlineEntry(name="main", context="hotline-in", extension="100", moh_class="default")


async def checks(client: AmiClient, *hotlines: HotlineEntry) -> StartupReport:
    return await run_startup_checks(client, hotlines=hotlines or (MAIN,))


@pytest.fixture
async def client(make_client: ClientFactory) -> AmiClient:
    client = make_client()
    await client.start()
    return client


async def test_all_fine(client: AmiClient) -> None:
    report = await checks(client)
    assert report.errors == []
    assert report.warnings == []
    assert report.ok
    assert report.version == "22.10.1"
    assert report.entity_id == "02:fc:00:00:00:01"
    assert report.server_license_key is None


async def test_missing_confirm_context(sim: AmiServer, client: AmiClient) -> None:
    del sim.state.dialplan["hotline-confirm"]
    report = await checks(client)
    assert len(report.errors) == 1
    line = report.errors[0]
    assert "\n" not in line
    assert line.startswith("dialplan context [hotline-confirm] (the agent confirm subroutine)")
    assert "[hotline-confirm] | exten => s,1,Set(HOTLINE_CONFIRM=)" in line
    assert "AGI(agi://127.0.0.1:4573/confirm,${ARG1},${ARG2},${ARG3},${ARG4})" in line
    assert "Set(GOSUB_RESULT=ACCEPTED)" in line
    assert "Set(GOSUB_RESULT=CONTINUE)" in line


async def test_confirm_context_without_s_extension(sim: AmiServer, client: AmiClient) -> None:
    sim.state.dialplan["hotline-confirm"] = {"t": ["Hangup()"]}
    report = await checks(client)
    assert len(report.errors) == 1
    assert report.errors[0].startswith("dialplan context [hotline-confirm] has no 's' extension")


async def test_confirm_context_that_is_not_fail_closed_warns(
    sim: AmiServer, client: AmiClient
) -> None:
    sim.state.dialplan["hotline-confirm"] = {
        "s": ["AGI(agi://127.0.0.1:4573/confirm,${ARG1},${ARG2})", "Return()"]
    }
    report = await checks(client)
    assert report.errors == []
    assert len(report.warnings) == 1
    assert "never sets GOSUB_RESULT=CONTINUE" in report.warnings[0]


async def test_missing_module(sim: AmiServer, client: AmiClient) -> None:
    sim.state.modules.discard("app_stack")
    report = await checks(client)
    assert report.errors == [
        "Asterisk module app_stack.so is not loaded (needed for Gosub/Return for Dial's U() "
        "confirm subroutine): add 'load => app_stack.so' to modules.conf (and remove any "
        "'noload => app_stack.so'), then restart Asterisk"
    ]


async def test_modulecheck_ignores_so_suffix_and_local_is_not_a_module(
    client: AmiClient,
) -> None:
    """What Asterisk 22 does (loader.c compares names without ".so"; Local is core_local)."""
    assert (await client.action("ModuleCheck", {"Module": "res_agi"})).get("Response") == "Success"
    assert (await client.action("ModuleCheck", {"Module": "RES_AGI.so"})).get("Response") == (
        "Success"
    )
    for name in ("chan_local.so", "core_local"):
        with pytest.raises(AmiActionError, match="Module not loaded"):
            await client.action("ModuleCheck", {"Module": name})


async def test_missing_local_channel_driver(sim: AmiServer, client: AmiClient) -> None:
    sim.state.channel_types = ["PJSIP"]
    report = await checks(client)
    assert len(report.errors) == 1
    assert report.errors[0].startswith("Asterisk has no Local channel driver")


async def test_too_old_version(sim: AmiServer, client: AmiClient) -> None:
    sim.state.asterisk_version = "16.30.0"
    report = await checks(client)
    assert report.errors == [
        "Asterisk 16.30.0 is too old: hotline needs Asterisk 18.0 or newer "
        "(tested on 20, 21, 22); upgrade Asterisk"
    ]
    assert report.version == "16.30.0"


async def test_untested_major_is_only_a_warning(sim: AmiServer, client: AmiClient) -> None:
    sim.state.asterisk_version = "23.0.0"
    report = await checks(client)
    assert report.errors == []
    assert report.warnings == [
        "Asterisk 23.0.0 is a version hotline was not tested on (tested: 20, 21, 22); "
        "it should work, but report any problem"
    ]


async def test_certified_versions_parse(sim: AmiServer, client: AmiClient) -> None:
    sim.state.asterisk_version = "certified/18.9-cert4"
    report = await checks(client)
    assert report.errors == []
    assert report.warnings[0].startswith("Asterisk certified/18.9-cert4 is a version hotline")
    assert parse_version("GIT-master-1234abc") is None


async def test_missing_hotline_extension_and_context(sim: AmiServer, client: AmiClient) -> None:
    other = HotlineEntry(name="sales", context="sales-in", extension="200", moh_class=None)
    sim.state.dialplan["hotline-in"] = {"101": ["AGI(agi://127.0.0.1:4573/hotline/x)"]}
    report = await checks(client, MAIN, other)
    assert report.errors == [
        "hotline 'main': extension 100 is missing from [hotline-in]: add to [hotline-in] in "
        "extensions.conf, then 'dialplan reload': exten => 100,1,AGI(agi://127.0.0.1:4573/"
        "hotline/main) |  same => n,Hangup()",
        "hotline 'sales': dialplan context [sales-in] is missing: add to extensions.conf, then "
        "'dialplan reload': [sales-in] | exten => 200,1,AGI(agi://127.0.0.1:4573/hotline/sales)"
        " |  same => n,Hangup()",
    ]


async def test_pattern_extension_counts(sim: AmiServer, client: AmiClient) -> None:
    sim.state.dialplan["hotline-in"] = {"_1XX": ["AGI(agi://127.0.0.1:4573/hotline/main)"]}
    report = await checks(client)
    assert report.errors == []


async def test_missing_moh_class(sim: AmiServer, client: AmiClient) -> None:
    jazz = HotlineEntry(name="main", context="hotline-in", extension="100", moh_class="jazz")
    report = await checks(client, jazz)
    assert report.errors == [
        "music-on-hold class 'jazz' (used by hotline 'main') does not exist: add to "
        "musiconhold.conf, then 'moh reload': [jazz] | mode=files | directory=moh/jazz"
    ]


async def test_moh_module_missing_gives_one_line_not_two(sim: AmiServer, client: AmiClient) -> None:
    sim.state.modules.discard("res_musiconhold")
    report = await checks(client)
    assert len(report.errors) == 1
    assert report.errors[0].startswith("Asterisk module res_musiconhold.so is not loaded")


async def test_unreachable(sim: AmiServer, client: AmiClient) -> None:
    await sim.kill()
    await client.close()
    report = await checks(client)
    assert report.errors == [
        f"Asterisk AMI at 127.0.0.1:{sim.port} is not reachable: start Asterisk, check "
        "[general] enabled=yes / port= / bindaddr= in manager.conf and the runtime's AMI host "
        "and port"
    ]


async def test_identity(sim: AmiServer, client: AmiClient) -> None:
    sim.state.entity_id = "0A:1B:2C:3D:4E:5F"
    sim.state.globals["HOTLINE_SERVER_KEY"] = "SRV-KEY-1234"
    identity = await read_identity(client)
    assert identity.entity_id == "0a:1b:2c:3d:4e:5f"
    assert identity.server_license_key == "SRV-KEY-1234"
    assert identity.pbx_uuid == sim.state.pbx_uuid
    assert identity.version == "22.10.1"
    custom = await read_identity(client, server_key_variable="OTHER_KEY")
    assert custom.server_license_key is None
    report = await checks(client)
    assert report.entity_id == "0a:1b:2c:3d:4e:5f"
    assert report.server_license_key == "SRV-KEY-1234"


def test_parse_recorded_core_settings() -> None:
    lines = [
        "",
        "PBX Core settings",
        "  Version:                     22.10.1",
        "  System name:                 ",
        "  Entity ID:                   02:fc:00:00:00:01",
        "  Min DTMF duration::          80",
    ]
    settings = parse_core_settings(lines)
    assert settings["Entity ID"] == "02:fc:00:00:00:01"
    assert settings["Version"] == "22.10.1"
    assert settings["System name"] == ""
    assert settings["Min DTMF duration"] == "80"
