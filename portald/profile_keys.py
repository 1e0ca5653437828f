"""Every key of the EdgeHub capability profile (``GET /edgehub/api/profile``) with its "not supported"
value. Plugins overlay what they provide; a capability nobody provides keeps 0, false or "", so a client
always finds every key the spec lists, with the spec's type."""

DEFAULTS = {
    "apphub": 0,
    "host:display:count": 0,
    "host:info": 0,
    "hwmon": 0,
    "ibmc": 0,
    "model:name": "",
    "networking:interfaces": 0,
    "os": "",
    "os:arch": "",
    "os:description": "",
    "perif:brightness": 0,
    "perif:disk": 0,
    "perif:gpio:all": 0,
    "perif:gpio:count": 0,
    "perif:led": 0,
    "perif:wdt": 0,
    "perif:wdt:enabled": False,
    "perif:wdt:timeoutInSeconds": 0,
    "perif:wdt:timeoutMaxInSeconds": 0,
    "perif:wdt:timeoutMinInSeconds": 0,
    "perif:wdt:type": "",
    "processes": 0,
    "service:list": 0,
    "system:ip": "",
    "system:mac": "",
    "systemperf": 0,
}
