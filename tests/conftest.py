"""Every test sees the simulated services' fixtures (tests/fixtures/*, over the ``simulation`` package);
``tests.fixtures.run`` also starts the run's watchdog, which stops the services if the run is killed
(simulation/services/watchdog.py)."""

import pytest

pytest_plugins = [
    "tests.fixtures.run",
    "tests.fixtures.display",
    "tests.fixtures.pcsc",
    "tests.fixtures.cups",
    "tests.fixtures.sane",
    "tests.fixtures.mqtt",
    "tests.fixtures.turn",
    "tests.fixtures.browser",
    "tests.fixtures.ice",
    "tests.fixtures.redis",
    "tests.fixtures.haproxy",
    "tests.fixtures.smtp",
]

# -- test tiers ------------------------------------------------------------------------------------------
# `scripts/test.sh --fast` runs the unit tier, `-m "not services"`: every test that starts no service and
# no subprocess-heavy harness. A test is in the services tier when it uses a fixture that starts one
# (directly or through another fixture: pytest's closure of its fixture names) or lives in a module that
# starts its own (listed below, or marked `pytestmark = pytest.mark.services` in the module).

#: Fixtures that start a private service (tests/fixtures/*), and ``loopback_ice``: the tests that take it
#: make real WebRTC calls over loopback (aiortc on both ends, seconds each).
SERVICE_FIXTURES = frozenset(
    {
        "cupsd", "own_cupsd", "pcsc", "card_slot", "sane_backend", "mosquitto", "mosquitto_factory",
        "coturn", "xvfb", "browser", "postgres_server", "postgres_url", "loopback_ice",
        "redis_server", "smtp_server", "cluster_factory", "switchboard_cluster",
    }
)  # fmt: skip

#: Modules (or folders, ending in "/") whose tests start services or heavy subprocesses themselves: the
#: real program under test (CLIs, the kiosk, the agent, the switchboard), cupsd, PulseAudio or OpenSSL's
#: responder in a module's own fixture, a call across a cut network in a subprocess, package builds and
#: systemd units.
SERVICE_MODULES = (
    "tests/kiosk/test_call_audio.py",  # PulseAudio sinks and sources
    "tests/kiosk/test_call_recovery.py",  # calls in a network namespace (netcut_worker.py)
    "tests/kiosk/test_speech.py",  # speech-dispatcher and PulseAudio sinks
    "tests/kiosk/test_agentlink.py",  # the kiosk as a process
    "tests/kiosk/test_kiosk_process.py",
    "tests/drivers/test_ocsp.py",  # OpenSSL's responder
    "tests/provisioning/test_report.py",  # PostgreSQL (a parameter, not a fixture name)
    "tests/provisioning/test_collect.py",
    "tests/drivers/test_pdfcheck.py",  # the PDF gate's confined worker processes, fed memory and object floods
    "tests/test_fuzz.py",  # a fuzz campaign: thousands of hostile messages per endpoint, a real switchboard
    "tests/acceptance/",
    "tests/browser/",
    "tests/packaging/",
    "tests/simulation/",
    "tests/systemd/",
    "tests/test_acceptance.py",
    "tests/test_demo.py",
    "tests/test_dependencies.py",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "services: starts a private service or a heavy subprocess (not in --fast)")


#: Test files that take a minute or more on their own (scripts/test.sh runs files on several workers, a
#: file on one): started first, so that none of them is the last one running while the other workers idle.
LONG_FIRST = (
    "tests/test_soak.py",
    "tests/switchboard/test_instances_scenarios.py",
    "tests/test_acceptance.py",
    "tests/browser/test_desk_joint_call.py",
    "tests/kiosk/test_transfer.py",
    "tests/kiosk/test_call_recovery.py",
    "tests/kiosk/test_call_desk.py",
    "tests/test_fuzz.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath

    def where(item: pytest.Item) -> str:
        return item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""

    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())) or where(item).startswith(SERVICE_MODULES):
            item.add_marker(pytest.mark.services)
    # A stable sort: the long files first, in LONG_FIRST's order, each file's tests in their own order.
    items.sort(key=lambda item: LONG_FIRST.index(where(item)) if where(item) in LONG_FIRST else len(LONG_FIRST))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop aiortc decoder threads that a test's unclosed peer connection left waiting.

    aiortc decodes on non-daemon threads ("video-decoder", "audio-decoder") that end only when their
    receiver is stopped; one left waiting keeps the interpreter from exiting after the summary, and a CI
    run would hang until its time limit. Each is told to stop as ``RTCRtpReceiver.stop()`` would, and the
    run says how many there were, so the test that leaks them can be found rather than hidden."""
    import sys
    import threading

    left = [t for t in threading.enumerate() if t.name in ("audio-decoder", "video-decoder") and t.is_alive()]
    for thread in left:
        args: tuple[object, ...] = getattr(thread, "_args", ())
        inbox = args[1] if len(args) > 1 else None
        put = getattr(inbox, "put", None)
        if callable(put):
            put(None)
    for thread in left:
        thread.join(5)
    if left:
        print(f"\nconftest: stopped {len(left)} aiortc decoder thread(s) left by an unclosed peer connection",
              file=sys.stderr)
