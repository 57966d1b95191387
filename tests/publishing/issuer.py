"""A real OIDC issuer on localhost for the tests: discovery, a JWKS, signed JWTs.

It signs with keys made by ``cryptography`` (RSA, RS256), serves
``/.well-known/openid-configuration`` and ``/jwks`` over HTTP on 127.0.0.1, and a token
endpoint shaped like GitHub Actions' (``ACTIONS_ID_TOKEN_REQUEST_URL``: GET with
``Authorization: bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>`` and ``audience=...``, answering
``{"value": <JWT>}``) so ``uv publish --trusted-publishing always`` gets its token here.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class LocalIssuer:
    """``with LocalIssuer() as issuer:`` an issuer at ``issuer.url`` until the block ends."""

    def __init__(self) -> None:
        self.key = new_key()
        self.kid = "key-1"
        self.published: dict[str, rsa.RSAPrivateKey] = {self.kid: self.key}
        # Served instead of the key set when set (bytes, or an object sent as JSON).
        self.garbage_jwks: object = None
        self.request_token = secrets.token_urlsafe(16)
        # What the token endpoint puts in its JWTs (besides iss/aud/times/jti).
        self.ci_claims: dict[str, Any] = {}
        self.jwks_requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalIssuer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Shut the server down: the issuer is unreachable from now on."""
        self._server.shutdown()
        self._server.server_close()

    @property
    def token_request_url(self) -> str:
        return f"{self.url}/token?api-version=2.0"

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.published.items():
            jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        audience: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        lifetime: int = 300,
        now: float | None = None,
        **overrides: Any,
    ) -> str:
        """A JWT with ``claims`` plus iss, aud, iat, nbf, exp and a fresh jti; ``overrides``
        replace any of them (None drops one)."""
        now = time.time() if now is None else now
        payload: dict[str, Any] = {
            "iss": self.url,
            "aud": audience,
            "iat": int(now),
            "nbf": int(now) - 5,
            "exp": int(now) + lifetime,
            "jti": secrets.token_hex(16),
            **claims,
        }
        for name, value in overrides.items():
            if value is None:
                payload.pop(name, None)
            else:
                payload[name] = value
        return jwt.encode(
            payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, body: object, status: int = 200) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json({"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"})
                elif url.path == "/jwks":
                    issuer.jwks_requests += 1
                    if issuer.garbage_jwks is not None:
                        self._json(issuer.garbage_jwks)
                    else:
                        self._json(issuer.jwks())
                elif url.path == "/token":
                    auth = self.headers.get("Authorization", "")
                    if auth.lower() != f"bearer {issuer.request_token}".lower():
                        self._json({"message": "bad request token"}, 401)
                        return
                    audience = parse_qs(url.query).get("audience", [None])[0]
                    self._json({"value": issuer.sign(issuer.ci_claims, audience=audience)})
                else:
                    self._json({"message": "not found"}, 404)

        return Handler


def github_claims(
    repository: str = "octo/sample",
    workflow: str = "release.yml",
    *,
    environment: str | None = "pypi",
    event_name: str = "push",
    ref: str = "refs/tags/v1.0",
) -> dict[str, Any]:
    """Claims shaped like a GitHub Actions OIDC token's."""
    workflow_ref = f"{repository}/.github/workflows/{workflow}@{ref}"
    owner = repository.split("/")[0]
    claims = {
        "sub": f"repo:{repository}:environment:{environment}"
        if environment
        else f"repo:{repository}:ref:{ref}",
        "repository": repository,
        "repository_owner": owner,
        "repository_id": "123456",
        "repository_owner_id": "654321",
        "workflow": "Release",
        "workflow_ref": workflow_ref,
        "job_workflow_ref": workflow_ref,
        "ref": ref,
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "run_id": "4242",
        "run_attempt": "1",
        "event_name": event_name,
        "actor": "octocat",
        "runner_environment": "github-hosted",
    }
    if environment:
        claims["environment"] = environment
    return claims


def gitlab_claims(
    project_path: str = "group/sample",
    ci_file: str = ".gitlab-ci.yml",
    *,
    host: str,
    environment: str | None = None,
    ref: str = "main",
) -> dict[str, Any]:
    """Claims shaped like a GitLab CI ``id_tokens`` token's (``host`` is the issuer's)."""
    claims = {
        "sub": f"project_path:{project_path}:ref_type:branch:ref:{ref}",
        "namespace_path": project_path.rsplit("/", 1)[0],
        "project_path": project_path,
        "project_id": "77",
        "pipeline_id": "9001",
        "pipeline_source": "push",
        "ref": ref,
        "ref_type": "branch",
        "ref_path": f"refs/heads/{ref}",
        "sha": "fedcba9876543210fedcba9876543210fedcba98",
        "ci_config_ref_uri": f"{host}/{project_path}//{ci_file}@refs/heads/{ref}",
        "user_login": "alice",
    }
    if environment:
        claims["environment"] = environment
    return claims
