"""The real-service harness: pytest plugins that start private instances of the services the product
talks to (pcscd + vpcd, cupsd, SANE's test backend, mosquitto, coturn, headless Chromium, Xvfb) on
loopback, in a per-run temporary directory with free ports, started and stopped by pid, never touching
the machine's own services. Each plugin module names its fixtures after what runs. A per-run watchdog
(``watchdog.py``) stops whatever a killed run left running.
"""
