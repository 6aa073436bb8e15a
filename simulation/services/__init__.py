"""Private instances of the services the product talks to (pcscd + vpcd, cupsd, SANE's test backend,
mosquitto, coturn, OpenSSL's OCSP responder, PostgreSQL, headless Chromium, Xvfb), started on loopback in a
directory of the caller's, on free ports, by pid, never touching the machine's own services. A per-run
watchdog (``watchdog.py``) stops whatever a killed run left running.

A library: the tests' fixtures (``tests/fixtures/``), the demo and the benchmarks start the services
through it; nothing here imports pytest.
"""
