"""The version each of the four services reports on ``agentinfo`` and in the profile.

portald is one process serving what were four services. Clients gate features on these versions
("since v1.8.1, API version 1.2"), so each reports the level of the original service whose API portald
implements — not portald's own release number, which would read as an older server. portald's own
version is ``portald.__version__`` (in ``GET /platform/api/plugins``). There is no EdgeX helper, so the
profile has no ``agent:version:edgex-helper`` key: absent means not installed.
"""

API_VERSION = 1.2

SERVICES = {
    "auth-server": "v1.9.1",
    "rest-server": "v1.0.1",
    "portal-service": "v1.0.1",
    "edgehub-agent": "v1.0.2",
}
