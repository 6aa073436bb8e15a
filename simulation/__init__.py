"""The simulated room and organiser for development: the virtual FINEID card and its PKI (``card``) and
private instances of the real services (``services``), which the tests, the demo (scripts/demo_system.py)
and the benchmarks (bench/) start.

Its own top-level package, because it is neither product nor test: the product never imports it, the
tests, the demo and the benchmarks all do, and none of them should reach into another's folder for it.
Development only: ``pip install -e .`` puts it on the path; the Debian packages never ship it
(scripts/package.sh leaves it out of the build copy).
"""
