"""Every test sees the real-service harness (tests/harness/*); ``tests.harness.common`` also starts the
run's watchdog, which stops the harness's services if the run is killed (tests/harness/watchdog.py)."""

pytest_plugins = [
    "tests.harness.common",
    "tests.harness.display",
    "tests.harness.pcsc",
    "tests.harness.cups",
    "tests.harness.sane",
    "tests.harness.mqtt",
    "tests.harness.turn",
    "tests.harness.browser",
]
