"""A software security key for tests that need a real WebAuthn assertion without a
browser: a P-256 key pair, registered as a SecurityKey row, that signs the challenge of
the options the server returned, as a U2F-style key would (user present, no UV)."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url

from strongroom.accounts.models import User
from strongroom.mfa.models import SecurityKey


def _cose_public_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    numbers = key.public_key().public_numbers()
    return cbor2.dumps(
        {
            1: 2,  # kty: EC2
            3: -7,  # alg: ES256
            -1: 1,  # crv: P-256
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
    )


@dataclass
class SoftKey:
    user: User
    label: str = "Soft key"
    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    counter: int = 0

    def register(self) -> SecurityKey:
        return SecurityKey.objects.create(
            user=self.user,
            label=self.label,
            credential_id=bytes_to_base64url(self.credential_id),
            public_key=bytes_to_base64url(_cose_public_key(self.private)),
        )

    def assertion(self, options: dict, origin: str = "http://testserver") -> str:
        """The JSON webauthn.js would post for ``options`` (navigator.credentials.get)."""
        self.counter += 1
        rp_id = options["rpId"]
        client_data = json.dumps(
            {"type": "webauthn.get", "challenge": options["challenge"], "origin": origin}
        ).encode()
        auth_data = hashlib.sha256(rp_id.encode()).digest() + b"\x01"
        auth_data += struct.pack(">I", self.counter)
        signature = self.private.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        raw_id = bytes_to_base64url(self.credential_id)
        return json.dumps(
            {
                "id": raw_id,
                "rawId": raw_id,
                "type": "public-key",
                "response": {
                    "clientDataJSON": bytes_to_base64url(client_data),
                    "authenticatorData": bytes_to_base64url(auth_data),
                    "signature": bytes_to_base64url(signature),
                    "userHandle": None,
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": None,
            }
        )
