"""portald's built-in plugins (installed as ``portald_plugins``): board plugins that provide drivers
(``linux``, ``sim``) and capability plugins that serve one API area each (``hwmon``, ``system``,
``irtm``, ...). They load through the same entry-point group as an OEM's plugins."""
