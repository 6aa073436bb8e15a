"""Every test sees the simulated services' fixtures (tests/fixtures/*, over the ``simulation`` package);
``tests.fixtures.run`` also starts the run's watchdog, which stops the services if the run is killed
(simulation/services/watchdog.py)."""

pytest_plugins = [
    "tests.fixtures.run",
    "tests.fixtures.display",
    "tests.fixtures.pcsc",
    "tests.fixtures.cups",
    "tests.fixtures.sane",
    "tests.fixtures.mqtt",
    "tests.fixtures.turn",
    "tests.fixtures.browser",
]
