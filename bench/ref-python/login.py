"""Reference client for the login benchmark (bench/run): the same test login as
`ifs-connect login NAME --json`, written with Authlib (requests integration).

Steps: discovery, JWKS, loopback listener, authorization request (PKCE S256, state, nonce),
browser, callback, token exchange, ID token validation (signature against the JWKS, iss, aud,
exp, iat, nonce), userinfo.

    ISSUER=... CLIENT_ID=... BROWSER_CMD=path python login.py

Prints one JSON line; exits 0 on success. Bounded to 30 s.
"""

import http.server
import json
import os
import secrets
import signal
import subprocess
import sys
import threading

from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc7636 import create_s256_code_challenge


def fail(message):
    print(json.dumps({"ok": False, "error": str(message)}), flush=True)
    os._exit(1)


def main():
    signal.signal(signal.SIGALRM, lambda *_: fail("timed out after 30 s"))
    signal.alarm(30)
    issuer = os.environ["ISSUER"]
    client_id = os.environ["CLIENT_ID"]
    session = OAuth2Session(client_id, scope="openid profile email",
                            code_challenge_method="S256", token_endpoint_auth_method="none")
    meta = session.get(issuer + "/.well-known/openid-configuration", timeout=10,
                       withhold_token=True)
    meta.raise_for_status()
    meta = meta.json()
    if meta.get("issuer") != issuer:
        raise ValueError("issuer mismatch")
    jwks = session.get(meta["jwks_uri"], timeout=10, withhold_token=True)
    jwks.raise_for_status()
    keys = JsonWebKey.import_key_set(jwks.json())

    got = {}
    done = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            if not self.path.startswith("/callback"):
                self.send_response(404)
                self.end_headers()
                return
            body = b"<!doctype html><title>Signed in</title><p>You can close this window."
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(body)
            got["path"] = self.path
            done.set()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
    session.redirect_uri = redirect_uri

    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(24)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    subprocess.Popen([os.environ["BROWSER_CMD"], url], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    if not done.wait(30):
        fail("no redirect")
    server.shutdown()
    token = session.fetch_token(meta["token_endpoint"],
                                authorization_response=redirect_uri[: -len("/callback")] + got["path"],
                                state=state, code_verifier=verifier, timeout=10)
    claims = jwt.decode(token["id_token"], keys, claims_options={
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "nonce": {"essential": True, "value": nonce},
        "exp": {"essential": True},
    })
    claims.validate(leeway=60)
    info = session.get(meta["userinfo_endpoint"], timeout=10)
    info.raise_for_status()
    if info.json().get("sub") != claims["sub"]:
        raise ValueError("userinfo sub differs")
    print(json.dumps({"ok": True, "sub": claims["sub"]}), flush=True)
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001 (one JSON line whatever failed)
        fail(f"{type(error).__name__}: {error}")
