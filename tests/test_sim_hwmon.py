"""Tests for the simulated hwmon driver: shape, limits, drift and determinism."""

import random
import statistics

from portald_plugins.boards.sim.hwmon import SimHwmonDriver

LIMITS = {
    ("temperature", "CPU"): (35, 85),
    ("voltage", "VCore"): (0.8, 1.2),
    ("voltage", "12V"): (11.4, 12.6),
    ("voltage", "5V Standby"): (4.75, 5.25),
    ("voltage", "CMOS Battery"): (2.9, 3.2),
    ("current", "OEM0"): (0.2, 1.5),
    ("fanspeed", "FAN0"): (900, 3000),
}
UNITS = {"temperature": "Celsius", "voltage": "Volt", "current": "A", "fanspeed": "RPM"}


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


class ExtremeRandom(random.Random):
    """Every draw is a 50-sigma outlier, alternating sign, to push against the clamps."""

    def __init__(self):
        super().__init__(0)
        self.sign = 1.0

    def gauss(self, mu=0.0, sigma=1.0):
        self.sign = -self.sign
        return mu + 50.0 * sigma * self.sign


def flatten(result):
    return {(kind, s["name"]): s["value"] for kind, sensors in result.items() for s in sensors}


def make(seed=1):
    clock = FakeClock()
    return SimHwmonDriver(rng=random.Random(seed), clock=clock), clock


def test_probe_is_always_true():
    assert SimHwmonDriver().probe() is True
    assert SimHwmonDriver.name == "sim.hwmon"


def test_read_has_virtual_board_sensors_with_units():
    driver, _ = make()
    result = driver.read()
    assert list(result) == ["temperature", "voltage", "current", "fanspeed"]
    assert set(flatten(result)) == set(LIMITS)
    for kind, sensors in result.items():
        for sensor in sensors:
            assert set(sensor) == {"name", "value", "unit"}
            assert sensor["unit"] == UNITS[kind]
            assert isinstance(sensor["value"], int if kind == "fanspeed" else float)


def test_values_stay_within_limits_over_many_steps():
    driver, clock = make(seed=7)
    gaps = [0.001, 0.5, 1.0, 5.0, 60.0, 3600.0, 86400.0 * 30]
    for step in range(5000):
        clock.now += gaps[step % len(gaps)]
        for key, value in flatten(driver.read()).items():
            low, high = LIMITS[key]
            assert low <= value <= high, (step, key, value)


def test_values_clamped_even_with_extreme_noise():
    clock = FakeClock()
    driver = SimHwmonDriver(rng=ExtremeRandom(), clock=clock)
    for _ in range(200):
        clock.now += 600.0
        for key, value in flatten(driver.read()).items():
            low, high = LIMITS[key]
            assert low <= value <= high, (key, value)


def test_values_drift_over_time():
    driver, clock = make(seed=3)
    seen = {key: set() for key in LIMITS}
    for _ in range(1000):
        clock.now += 10.0
        for key, value in flatten(driver.read()).items():
            seen[key].add(value)
    for key, values in seen.items():
        assert len(values) > 1, key
    assert len(seen[("temperature", "CPU")]) > 100


def test_cmos_battery_drifts_very_slowly():
    driver, clock = make(seed=5)
    start = flatten(driver.read())[("voltage", "CMOS Battery")]
    clock.now += 60.0
    assert abs(flatten(driver.read())[("voltage", "CMOS Battery")] - start) <= 0.01


def test_reading_twice_at_same_instant_gives_same_values():
    driver, clock = make(seed=11)
    clock.now += 42.0
    first = driver.read()
    assert driver.read() == first
    assert driver.read() == first


def test_extra_reads_at_same_instant_do_not_change_later_values():
    quiet, clock_q = make(seed=8)
    busy, clock_b = make(seed=8)
    for _ in range(50):
        clock_q.now += 5.0
        clock_b.now += 5.0
        busy.read()
        busy.read()
        assert quiet.read() == busy.read()


def test_same_seed_and_clock_give_identical_sequences():
    a, clock_a = make(seed=1234)
    b, clock_b = make(seed=1234)
    for gap in [0.1, 1.0, 30.0, 0.0, 300.0] * 20:
        clock_a.now += gap
        clock_b.now += gap
        assert a.read() == b.read()


def test_different_seeds_diverge():
    a, clock_a = make(seed=1)
    b, clock_b = make(seed=2)
    clock_a.now += 120.0
    clock_b.now += 120.0
    assert a.read() != b.read()


def test_longer_gaps_drift_further():
    def mean_cpu_change(gap):
        driver, clock = make(seed=99)
        changes = []
        for _ in range(300):
            before = flatten(driver.read())[("temperature", "CPU")]
            clock.now += gap
            changes.append(abs(flatten(driver.read())[("temperature", "CPU")] - before))
        return statistics.mean(changes)

    assert mean_cpu_change(0.5) < mean_cpu_change(120.0)


def test_fan_speed_follows_cpu_temperature():
    driver, clock = make(seed=21)
    temps, fans = [], []
    for _ in range(500):
        clock.now += 20.0
        values = flatten(driver.read())
        temps.append(values[("temperature", "CPU")])
        fans.append(values[("fanspeed", "FAN0")])
    assert statistics.correlation(temps, fans) > 0.8
