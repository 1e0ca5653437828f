"""The sim board's identity (the ``board`` capability), shaped like the DMI fields of a real edge PC, plus
the ``ec_version`` that an OEM board plugin reads from its embedded controller."""


class SimBoardDriver:
    name = "sim.board"

    def probe(self) -> bool:
        return True

    def read(self) -> dict[str, str]:
        return {
            "sys_vendor": "portald",
            "product_name": "SIM-EDGE-1000",
            "product_version": "A1",
            "product_serial": "SIM0000001",
            "product_uuid": "5d1f3c2e-0000-4000-8000-000000000001",
            "board_vendor": "portald",
            "board_name": "SIM-EDGE-1000-MB",
            "board_version": "A1",
            "bios_vendor": "portald",
            "bios_version": "SIM 1.00",
            "bios_date": "01/01/2026",
            "ec_version": "1.02",
        }


CAPABILITY = "board"


def create_driver(ctx, settings=None):
    return SimBoardDriver()
