// Reference client for the login benchmark (bench/run): the same test login as
// `ifs-connect login NAME --json`, written with the certified openid-client library.
// Steps: discovery, JWKS, loopback listener, authorization request (PKCE S256, state,
// nonce), browser, callback, token exchange, ID token validation (claims by openid-client,
// signature with jose against the JWKS fetched up front), userinfo.
//
//   ISSUER=... CLIENT_ID=... BROWSER_CMD=path node login.mjs
// Prints one JSON line; exits 0 on success. Bounded to 30 s.
import * as http from 'node:http';
import { spawn } from 'node:child_process';
import * as client from 'openid-client';
import * as jose from 'jose';

const { ISSUER, CLIENT_ID, BROWSER_CMD } = process.env;
const bound = setTimeout(() => fail('timed out after 30 s'), 30000);
bound.unref();

function fail(message) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(message) })}\n`);
  process.exit(1);
}

async function main() {
  const insecure = { execute: [client.allowInsecureRequests] };
  const config = await client.discovery(new URL(ISSUER), CLIENT_ID, undefined, client.None(), insecure);
  const meta = config.serverMetadata();
  const jwksResponse = await fetch(meta.jwks_uri);
  if (!jwksResponse.ok) throw new Error(`JWKS: HTTP ${jwksResponse.status}`);
  const jwks = jose.createLocalJWKSet(await jwksResponse.json());

  let answer;
  const callback = new Promise((resolve) => { answer = resolve; });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${server.address().port}`);
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', connection: 'close' });
    res.end('<!doctype html><title>Signed in</title><p>You can close this window.</p>');
    answer(url);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const redirectUri = `http://127.0.0.1:${server.address().port}/callback`;

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  spawn(BROWSER_CMD, [authUrl.href], { detached: true, stdio: 'ignore' }).unref();

  const current = await callback;
  server.close();
  server.closeAllConnections?.();
  const tokens = await client.authorizationCodeGrant(config, current, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const { payload } = await jose.jwtVerify(tokens.id_token, jwks, {
    issuer: meta.issuer,
    audience: CLIENT_ID,
  });
  const info = await client.fetchUserInfo(config, tokens.access_token, payload.sub);
  process.stdout.write(`${JSON.stringify({ ok: true, sub: info.sub })}\n`);
  process.exit(0);
}

main().catch(fail);
