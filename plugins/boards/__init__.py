"""Board plugins: drivers for the hardware and the OS, one module per capability.

Board plugins sit apart from the capability plugins (``plugins/<capability>/``), which own the API:
``linux`` is the generic board (the kernel's standard interfaces, trylast), ``sim`` the virtual board
(``--sim`` only, tryfirst). An OEM's board is a package or drop-in file of the same shape.
"""
