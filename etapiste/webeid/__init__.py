"""Web eID 1.0 identity proofs, shared by the point (which has the card sign one) and the switchboard (which
validates it): the token's format (:mod:`.token`), the origin rules (:mod:`.origin`), citizen certificates as
FINEID cards carry them (:mod:`.certificate`), revocation at the CA's OCSP responder (:mod:`.ocsp`) and the
validator (:mod:`.validator`). Pure Python on ``cryptography``: no PC/SC, no driver, no switchboard.
"""
