"""Every test sees the real-service harness (tests/harness/*)."""

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
