"""The organiser's switchboard: signalling, producer queues, TURN credentials, identity-proof
verification, and the producer desk web page.
"""
