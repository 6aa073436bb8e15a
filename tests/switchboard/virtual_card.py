"""What the point's card does for identification, with a test PKI's citizen key (simulation.card.pki): sign
H(H(origin) ‖ H(nonce)) and wrap it as a Web eID 1.0 token, as drivers.cardreader does with a real card."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from drivers import proof
from etapiste.protocol import WebEidToken
from simulation.card.pki import CardIdentity


def sign_token(identity: CardIdentity, origin: str, nonce: str) -> WebEidToken:
    algorithm = proof.algorithm_for_key(identity.key.public_key())
    digest = proof.digest_to_sign(origin, nonce, algorithm)
    prehashed = utils.Prehashed(algorithm.new_hash())
    key = identity.key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = utils.decode_dss_signature(key.sign(digest, ec.ECDSA(prehashed)))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        pss = padding.PSS(mgf=padding.MGF1(algorithm.new_hash()), salt_length=algorithm.new_hash().digest_size)
        signature = key.sign(digest, pss, prehashed)
    token = proof.AuthToken(certificate=identity.cert_der, algorithm=algorithm.name, signature=signature)
    return WebEidToken.model_validate(token.to_dict())
