"""The capability profile and every service's ping/agentinfo, exactly as the spec shows them."""
from __future__ import annotations

from portald.profile_keys import DEFAULTS

from conftest import admin_token, bearer

SPEC_TYPES = {  # key -> type, from the spec's example profile
    "apphub": int, "host:display:count": int, "host:info": int, "hwmon": int, "ibmc": int, "model:name": str,
    "networking:interfaces": int, "os": str, "os:arch": str, "os:description": str, "perif:brightness": int,
    "perif:disk": int, "perif:gpio:all": int, "perif:gpio:count": int, "perif:led": int, "perif:wdt": int,
    "perif:wdt:enabled": bool, "perif:wdt:timeoutInSeconds": int, "perif:wdt:timeoutMaxInSeconds": int,
    "perif:wdt:timeoutMinInSeconds": int, "perif:wdt:type": str, "processes": int, "service:list": int,
    "system:ip": str, "system:mac": str, "systemperf": int,
}


def _profile(client):
    response = client.get("/edgehub/api/profile", headers=bearer(admin_token(client)))
    assert response.status_code == 200
    return response.get_json()


def test_profile_has_every_spec_key_with_the_spec_type(client):
    profile = _profile(client)
    for key, kind in SPEC_TYPES.items():
        assert key in profile, key
        assert type(profile[key]) is kind, (key, profile[key])
    assert set(DEFAULTS) == set(SPEC_TYPES)


def test_profile_on_sim_reports_hwmon_and_board_model(client):
    profile = _profile(client)
    assert profile["hwmon"] == 1
    assert profile["model:name"] == "SIM-EDGE-1000"
    assert profile["os"] == "linux" and profile["os:arch"]
    assert profile["os:description"]


def test_profile_without_hardware_says_zero(make_app):
    client = make_app(board="auto").test_client()
    profile = _profile(client)
    assert profile["hwmon"] == 0 and profile["perif:led"] == 0 and profile["perif:wdt:enabled"] is False


def test_profile_agent_versions_equal_each_service_agentinfo(client):
    profile = _profile(client)
    pairs = {"auth-server": "/auth/agentinfo", "rest-server": "/platform/api/agentinfo",
             "portal-service": "/api/agentinfo", "edgehub-agent": "/edgehub/api/agentinfo"}
    for service, path in pairs.items():
        assert profile[f"agent:version:{service}"] == client.get(path).get_json()["version"], service
    assert [k for k in profile if k.startswith("agent:version:")] == sorted(f"agent:version:{s}" for s in pairs)


def test_profile_system_ip_and_mac_come_from_the_default_route(make_app, tmp_path):
    import psutil

    iface = next(name for name, addrs in psutil.net_if_addrs().items()
                 if any(a.family == 2 for a in addrs))
    ip = next(a.address for a in psutil.net_if_addrs()[iface] if a.family == 2)
    proc = tmp_path / "proc" / "net"
    proc.mkdir(parents=True)
    (proc / "route").write_text(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        f"{iface}\t00000000\t0100007F\t0003\t0\t0\t0\t00000000\t0\t0\t0\n")
    client = make_app(procfs_root=str(tmp_path / "proc")).test_client()
    assert _profile(client)["system:ip"] == ip


def test_pings_answer_pong_as_text(client):
    for path in ("/auth/ping", "/platform/api/ping", "/api/ping", "/edgehub/api/ping"):
        response = client.get(path)
        assert response.status_code == 200 and response.data == b"pong", path
        assert response.mimetype == "text/plain"


def test_agentinfo_versions(client):
    assert client.get("/platform/api/agentinfo").get_json() == {"version": "v1.0.1"}
    assert client.get("/api/agentinfo").get_json() == {"version": "v1.0.1"}
    assert client.get("/edgehub/api/agentinfo").get_json() == {"version": "v1.0.2"}


def test_profile_needs_token(client):
    response = client.get("/edgehub/api/profile")
    assert response.status_code == 401 and response.get_json()["Code"] == 401
