"""The sim board's services through the API: states, control, a failing unit, persistence."""
from __future__ import annotations

from conftest import ADMIN_PASSWORD, bearer, login


def test_sim_services_list_and_control_persist_across_restart(make_app, admin_headers, client):
    listed = {s["name"]: s for s in client.get("/platform/api/service/list", headers=admin_headers).get_json()}
    assert listed["ssh"]["status"] == "running" and listed["bluetooth"]["status"] == "disabled"
    assert listed["mosquitto"]["status"] == "stopped"
    assert set(listed["ssh"]) == {"name", "displayName", "description", "status"}
    assert client.put("/platform/api/service/mosquitto", json={"action": "start"},
                      headers=admin_headers).status_code == 204
    assert client.put("/platform/api/service/ssh.service", json={"action": "stop"},
                      headers=admin_headers).status_code == 204
    restarted = make_app().test_client()
    headers = bearer(login(restarted, "admin", ADMIN_PASSWORD).get_json()["token"])
    assert restarted.get("/platform/api/service/mosquitto", headers=headers).get_json() == {"status": "running"}
    assert restarted.get("/platform/api/service/ssh", headers=headers).get_json() == {"status": "stopped"}


def test_sim_failing_start_and_unknown_unit_are_422_service(client, admin_headers):
    failed = client.put("/platform/api/service/broken", json={"action": "start"}, headers=admin_headers)
    assert failed.status_code == 422 and "failed" in failed.get_json()["errors"]["Service"]
    unknown = client.get("/platform/api/service/nosuch", headers=admin_headers)
    assert unknown.status_code == 422 and "not found" in unknown.get_json()["errors"]["Service"]


def test_sim_services_profile_key(client, admin_headers):
    assert client.get("/edgehub/api/profile", headers=admin_headers).get_json()["service:list"] == 1
