"""A virtual FINEID card for the tests, the demo and the benchmarks: the card's applet (``applet``), a test
CA issuing certificates in FINEID's subject layout (``pki``) and the process that plugs the card into
pcscd's vpcd reader (``vpcd``).

The card is ours, not a copy of anyone's: it answers the APDUs the FINEID specifications and the public
Web eID driver use, with the status words a real card gives (61xx on T=0, 63Cx, 6983, 6Cxx), so the
driver is exercised through pcscd exactly as with a physical card.
"""
