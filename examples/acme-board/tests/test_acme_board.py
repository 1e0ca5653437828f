"""The ACME EDGE-200 plugin against its simulated MCU on a pseudo-terminal: the line protocol alone
(replies, refusals, timeouts, resync after garbage, one exchange at a time, also from two pool threads
under gevent), and the two drivers' interfaces as portald calls them. portald itself is not started here (its own suite drives
the plugin through the REST API)."""
from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

# The package next to these tests, not whatever version may be installed; and imported without staying
# importable, so that a test run together with these (portald's suite installs other packages named
# acme_board) still loads its own.
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def _ours(name: str) -> bool:
    return name.split(".")[0] == "acme_board"


_elsewhere = {name: module for name, module in sys.modules.items() if _ours(name)}
for _name in _elsewhere:
    del sys.modules[_name]
sys.path.insert(0, str(PACKAGE_ROOT))
try:
    from acme_board import settings
    from acme_board.drivers import AcmeGpioDriver, AcmeLedDriver, Board
    from acme_board.mcu_sim import SimulatedMcu
    from acme_board.protocol import Info, McuLink
finally:
    sys.path.remove(str(PACKAGE_ROOT))
    for _name in [name for name in sys.modules if _ours(name)]:
        del sys.modules[_name]
    sys.modules.update(_elsewhere)

TIMEOUT = 0.5


@pytest.fixture
def mcu():
    with SimulatedMcu() as sim:
        yield sim


@pytest.fixture
def link(mcu):
    made = McuLink(mcu.port, timeout=TIMEOUT)
    yield made
    made.close()


def _wait_for(condition, seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# -- the protocol ---------------------------------------------------------------------------------------

def test_info_identifies_the_board(link, mcu):
    assert link.info() == Info(firmware="1.4", gpio_count=8, led_count=4)
    assert mcu.requests == ["INFO?"]


def test_gpio_commands_change_and_read_the_mcu_pins(link, mcu):
    assert link.gpio_read(3) == (0, 0)
    assert link.gpio_set_level(3, 1) == (0, 1)
    assert mcu.latch[3] == 1
    mcu.wire[6] = 1
    assert link.gpio_read(6) == (1, 1)
    assert link.gpio_set_dir(6, 0) == (0, 0)
    assert mcu.direction[6] == 0
    assert mcu.requests == ["GPIO? 3", "GPIO SET 3 1", "GPIO? 6", "GPIO DIR 6 0"]


def test_led_commands_switch_the_mcu_leds(link, mcu):
    assert link.led_set(2, True) is True
    assert mcu.leds == [False, False, True, False]
    assert link.led_get(2) is True and link.led_get(1) is False
    assert link.led_set(2, False) is False and mcu.leds[2] is False


@pytest.mark.parametrize("call, code", [
    (lambda link: link.gpio_set_level(5, 1), errno.EPERM),   # ERR 3: an input's level
    (lambda link: link.gpio_read(8), errno.EINVAL),          # ERR 2: no such pin
    (lambda link: link.led_set(4, True), errno.EINVAL),      # ERR 2: no such LED
])
def test_mcu_refusals_are_oserrors_with_their_errno(link, mcu, call, code):
    before = (list(mcu.latch), list(mcu.leds))
    with pytest.raises(OSError) as caught:
        call(link)
    assert caught.value.errno == code and "MCU refused" in caught.value.strerror
    assert (mcu.latch, mcu.leds) == before


def test_unknown_command_is_eopnotsupp(link):
    with pytest.raises(OSError) as caught:
        link.request("PWM SET 1 50", re.compile("OK .*"))
    assert caught.value.errno == errno.EOPNOTSUPP


def test_silent_mcu_times_out_within_the_timeout(link, mcu):
    mcu.mode = "silent"
    started = time.monotonic()
    with pytest.raises(OSError) as caught:
        link.gpio_read(0)
    elapsed = time.monotonic() - started
    assert caught.value.errno == errno.ETIMEDOUT
    assert TIMEOUT <= elapsed < 2 * TIMEOUT
    assert mcu.requests == ["GPIO? 0"]  # no reply is not retried: a dead MCU costs one timeout


def test_one_garbled_reply_is_recovered_by_a_resync(link, mcu):
    mcu.latch[2] = 1
    mcu.garble_next = 1
    assert link.gpio_read(2) == (0, 1)
    assert mcu.requests == ["GPIO? 2", "GPIO? 2"]


def test_garbage_twice_is_an_eio_after_exactly_one_retry(link, mcu):
    mcu.mode = "garbage"
    with pytest.raises(OSError) as caught:
        link.led_set(1, True)
    assert caught.value.errno == errno.EIO and "garbled" in caught.value.strerror
    assert mcu.requests == ["LED SET 1 1", "LED SET 1 1"]
    mcu.mode = "ok"
    assert link.led_get(1) is True  # the link is usable again at once


def test_a_reply_cut_off_is_garbage_and_never_a_hang(link, mcu):
    mcu.mode = "silent"
    # Half a reply arrives after the request went out, then nothing: the MCU reset mid-line.
    cut = threading.Thread(target=lambda: (_wait_for(lambda: mcu.requests), mcu.inject(b"OK 3 DIR")))
    cut.start()
    started = time.monotonic()
    with pytest.raises(OSError) as caught:
        link.gpio_read(3)
    elapsed = time.monotonic() - started
    cut.join(timeout=5)
    assert mcu.requests == ["GPIO? 3", "GPIO? 3"]  # the half line was garbage: resync, ask again
    assert caught.value.errno == errno.ETIMEDOUT   # and the second ask met silence
    assert elapsed < 2 * TIMEOUT + 0.5


def test_stale_bytes_before_a_request_are_discarded(link, mcu):
    link.info()  # the port is open, so bytes sent now wait in its input queue
    mcu.wire[4] = 0
    mcu.inject(b"OK 4 DIR 0 LEVEL 1\n")  # well formed, about the same pin, and wrong
    time.sleep(0.1)
    assert link.gpio_read(4) == (1, 0)
    assert mcu.requests == ["INFO?", "GPIO? 4"]


def test_late_reply_to_a_timed_out_request_is_not_taken_for_the_next(link, mcu):
    mcu.wire[7] = 1
    mcu.delay = TIMEOUT * 1.5
    with pytest.raises(OSError) as caught:
        link.gpio_read(7)
    assert caught.value.errno == errno.ETIMEDOUT
    mcu.delay = 0
    # The MCU answers "GPIO? 7" late, while this request waits: that reply names pin 7, not pin 1.
    assert link.gpio_read(1) == (0, 0)


def test_one_exchange_on_the_wire_at_a_time(link, mcu):
    """Threads share one link; without its lock their requests interleave and replies cross."""
    for pin in range(4):
        mcu.latch[pin] = pin % 2
    failures: list[str] = []

    def worker(pin: int) -> None:
        try:
            for _ in range(25):
                if link.gpio_read(pin) != (0, pin % 2):
                    failures.append(f"pin {pin} read wrong")
                if link.led_set(pin, bool(pin % 2)) is not bool(pin % 2):
                    failures.append(f"LED {pin} answered wrong")
        except OSError as exc:
            failures.append(f"pin {pin}: {exc}")

    threads = [threading.Thread(target=worker, args=(pin,)) for pin in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert len(mcu.requests) == 4 * 25 * 2  # no request was garbled and sent again


def test_under_gevent_both_drivers_share_the_link_from_pool_threads_and_the_hub_keeps_running():
    """As in the daemon: standard library patched, and each driver's calls in gevent's threadpool
    through portald's ``BlockingDriver`` (what portald does with ``blocking = True``). There is one per
    driver, so a GPIO call and an LED call run in two native threads at once and meet at the link's
    lock. Run in a child process, because patching this test process would change every other test."""
    script = textwrap.dedent(f"""
        from gevent import monkey
        monkey.patch_all()
        import sys, gevent
        sys.path.insert(0, {str(PACKAGE_ROOT)!r})
        from portald.drivers import BlockingDriver
        from acme_board.drivers import AcmeGpioDriver, AcmeLedDriver, Board
        from acme_board.mcu_sim import SimulatedMcu
        from acme_board.protocol import McuLink

        ticks = 0
        def ticker():
            global ticks
            while True:
                gevent.sleep(0.01)
                ticks += 1

        with SimulatedMcu() as mcu:
            board = Board(McuLink(mcu.port, timeout=2))
            gpio, led = BlockingDriver(AcmeGpioDriver(board)), BlockingDriver(AcmeLedDriver(board))
            def gpio_worker(pin):
                for _ in range(20):
                    assert gpio.read(pin) == {{"dir": 0 if pin < 4 else 1, "level": 0}}, pin
            def led_worker(index):
                for _ in range(20):
                    led.set(index, True)
                    assert led.get(index) is True, index
            clock = gevent.spawn(ticker)
            mcu.delay = 0.3
            assert gpio.probe() and led.probe()  # the hub keeps serving while a reply is awaited
            mcu.delay = 0
            assert ticks >= 10, ticks
            workers = [gevent.spawn(gpio_worker, pin) for pin in range(8)]
            workers += [gevent.spawn(led_worker, index) for index in range(4)]
            gevent.joinall(workers, raise_error=True, timeout=30)
            assert len(mcu.requests) == 1 + 8 * 20 + 4 * 20 * 2, len(mcu.requests)
            clock.kill()
            gpio.close()
            led.close()
        print("fine")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "fine", done.stderr[-2000:]


# -- the drivers ----------------------------------------------------------------------------------------

@pytest.fixture
def board(mcu):
    made = Board(McuLink(mcu.port, timeout=TIMEOUT))
    yield made
    made.close()


def test_drivers_probe_true_and_count_what_the_mcu_reports(board, mcu):
    gpio, led = AcmeGpioDriver(board), AcmeLedDriver(board)
    assert gpio.probe() and led.probe()
    assert (gpio.count(), led.count()) == (8, 4)
    assert mcu.requests == ["INFO?"]  # the board is identified once for both drivers


def test_drivers_run_in_portalds_threadpool_each_call_bounded(board):
    for driver in (AcmeGpioDriver(board), AcmeLedDriver(board)):
        # a call may wait for the other driver's exchange, then make its own: two of ~3 reply timeouts
        assert driver.blocking is True and driver.timeout_seconds == 6 * TIMEOUT + 1


def test_closing_either_driver_closes_the_shared_port(board, mcu):
    gpio, led = AcmeGpioDriver(board), AcmeLedDriver(board)
    assert gpio.probe() and board.link._serial is not None
    gpio.close()
    assert board.link._serial is None
    led.close()  # already closed: harmless
    assert led.probe() and gpio.read(0) == {"dir": 0, "level": 0}  # and reopened on the next exchange


def test_gpio_driver_follows_the_interface(board, mcu):
    gpio = AcmeGpioDriver(board)
    assert gpio.probe()
    gpio.set_level(2, 1)
    assert gpio.read(2) == {"dir": 0, "level": 1}
    gpio.set_dir(2, 0)                       # its own direction again: keeps driving high
    assert gpio.read(2) == {"dir": 0, "level": 1} and mcu.latch[2] == 1
    mcu.latch[5] = 1                         # an input switched to output starts low
    gpio.set_dir(5, 0)
    assert gpio.read(5) == {"dir": 0, "level": 0}
    gpio.set_dir(5, 1)
    mcu.wire[5] = 1
    assert gpio.read(5) == {"dir": 1, "level": 1}
    with pytest.raises(OSError):
        gpio.set_level(5, 0)


def test_led_driver_follows_the_interface(board, mcu):
    led = AcmeLedDriver(board)
    assert led.probe()
    led.set(3, True)
    assert led.get(3) is True and mcu.leds[3] is True
    led.set(3, False)
    assert led.get(3) is False and mcu.leds[3] is False


def test_probe_is_false_quietly_when_the_port_does_not_exist(tmp_path, caplog):
    board = Board(McuLink(str(tmp_path / "ttyACME0"), timeout=TIMEOUT))
    with caplog.at_level("INFO"):
        assert AcmeGpioDriver(board).probe() is False
        assert AcmeLedDriver(board).probe() is False
    assert caplog.records == []


def test_probe_is_false_when_nothing_answers_and_asks_only_once(board, mcu):
    mcu.mode = "silent"
    started = time.monotonic()
    assert AcmeGpioDriver(board).probe() is False
    assert AcmeLedDriver(board).probe() is False
    assert time.monotonic() - started < 2 * TIMEOUT
    assert mcu.requests == ["INFO?"]


def test_probe_is_false_for_another_device_on_the_port(board, mcu):
    mcu.answer = lambda line: "OK OTHER-BOARD FW 9.9"
    assert AcmeGpioDriver(board).probe() is False


# -- configuration --------------------------------------------------------------------------------------

def test_settings_defaults_and_refusals():
    assert settings({"port": "/dev/ttyUSB0"}) == ("/dev/ttyUSB0", 115200, 1.0)
    assert settings({}) == (None, 115200, 1.0)
    for bad in ({"port": ""}, {"port": "x", "baudrate": "fast"}, {"port": "x", "timeout_seconds": 0},
                {"port": "x", "timeout_seconds": 60}, {"port": "x", "baud": 9600}):
        with pytest.raises(ValueError):
            settings(bad)


def test_simulated_mcu_keeps_the_pty_alive_while_the_driver_reopens(mcu):
    for _ in range(2):
        link = McuLink(mcu.port, timeout=TIMEOUT)
        assert link.info().gpio_count == 8
        link.close()
    assert os.path.exists(mcu.port)
