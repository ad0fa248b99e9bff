// A real OpenID provider (oidc-provider) shaped like IFS Cloud's IAM (Keycloak), for tests.
//
//   node tests/support/provider.mjs
//
// Configuration comes from environment variables only (never argv, so secrets stay out of `ps`):
//   PROVIDER_PORT               port on 127.0.0.1 (default 0: the OS picks one)
//   PROVIDER_REALM              realm name in the issuer path (default "ifs")
//   PROVIDER_CLIENT_SECRET      secret of the confidential clients (default "test-secret-not-for-production")
//   PROVIDER_ACCESS_TOKEN_TTL   seconds (default 600)
//   PROVIDER_ID_TOKEN_TTL       seconds (default 600)
//   PROVIDER_REFRESH_TOKEN_TTL  seconds (default 86400)
//   PROVIDER_PAR                "1" (default: enabled, optional), "0" (disabled), "required"
//   PROVIDER_PKCE               "required" (default) or "optional"
//   PROVIDER_REFRESH            "offline_access" (default: refresh tokens only when offline_access was
//                               granted, which oidc-provider grants only with prompt=consent) or
//                               "always" (Keycloak-like: every code grant gets a refresh token)
//   PROVIDER_CLOCK_SKEW         seconds added to the provider's clock (default 0), for clock-skew tests
//   PROVIDER_EXTRA_CLIENTS      JSON array of extra client metadata objects (oidc-provider format)
//   PROVIDER_DISCOVERY_PATCH    JSON object merged into the discovery document (null deletes a key),
//                               e.g. {"issuer":"http://127.0.0.1:1/x"} to test issuer validation
//   PROVIDER_API_STATUS         force the IFS API probe to answer this status (e.g. 503, 404)
//   PROVIDER_IGNORE_STDIN       "1": do not exit when stdin closes (for manual runs)
//
// When ready it prints exactly one JSON line to stdout:
//   {"issuer":"...","port":N,"base_url":"http://127.0.0.1:N"}
// Everything else (oidc-provider notices and warnings, request errors) goes to stderr.
// It exits when stdin closes (so a dying parent never leaves it behind), on SIGTERM and on SIGINT.
//
// Other routes, outside the issuer prefix:
//   GET /main/ifsapplications/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()
//       Bearer access token -> 200 {"UserId": "<sub>"} (a service client's token:
//       {"UserId": "service-account-<client_id>"}), else 401
//
// Clients: ifs-public, ifs-confidential, ifs-confidential-post (authorization code), and
// ifs-service (client credentials only, Basic auth: an IFS IAM client with Service Accounts on).
// The others may not use client credentials: they answer unauthorized_client, as Keycloak does
// for a client without Service Accounts.
//   GET /__stats   JSON counters (see `stats` below)
//   anything else: 404

import * as crypto from 'node:crypto';
import * as http from 'node:http';

// oidc-provider prints its notices with console.info, which goes to stdout; stdout is reserved for
// the single ready line, so send all console output to stderr.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

const env = process.env;

function intEnv(name, dflt) {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function jsonEnv(name, dflt) {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new Error(`${name} is not valid JSON: ${e.message}`);
  }
}

const PORT = intEnv('PROVIDER_PORT', 0);
const REALM = env.PROVIDER_REALM || 'ifs';
const CLIENT_SECRET = env.PROVIDER_CLIENT_SECRET || 'test-secret-not-for-production';
const ACCESS_TOKEN_TTL = intEnv('PROVIDER_ACCESS_TOKEN_TTL', 600);
const ID_TOKEN_TTL = intEnv('PROVIDER_ID_TOKEN_TTL', 600);
const REFRESH_TOKEN_TTL = intEnv('PROVIDER_REFRESH_TOKEN_TTL', 86400);
const PAR = env.PROVIDER_PAR ?? '1';
const PKCE = env.PROVIDER_PKCE || 'required';
const REFRESH = env.PROVIDER_REFRESH || 'offline_access';
const CLOCK_SKEW = Number(env.PROVIDER_CLOCK_SKEW || 0);
const EXTRA_CLIENTS = jsonEnv('PROVIDER_EXTRA_CLIENTS', []);
const DISCOVERY_PATCH = jsonEnv('PROVIDER_DISCOVERY_PATCH', null);
const API_STATUS = intEnv('PROVIDER_API_STATUS', 0);

if (!['0', '1', 'required'].includes(PAR)) throw new Error('PROVIDER_PAR must be 0, 1 or required');
if (!['required', 'optional'].includes(PKCE)) throw new Error('PROVIDER_PKCE must be required or optional');
if (!['offline_access', 'always'].includes(REFRESH)) throw new Error('PROVIDER_REFRESH must be offline_access or always');
if (!Number.isFinite(CLOCK_SKEW)) throw new Error('PROVIDER_CLOCK_SKEW must be a number');
if (!Array.isArray(EXTRA_CLIENTS)) throw new Error('PROVIDER_EXTRA_CLIENTS must be a JSON array');

if (CLOCK_SKEW !== 0) {
  // oidc-provider takes "now" from Date.now() (iat, exp, auth_time), so shifting it skews its tokens.
  const realNow = Date.now;
  Date.now = () => realNow() + CLOCK_SKEW * 1000;
}

// Imported after the console redirect and the clock shift.
const { default: Provider } = await import('oidc-provider');

const PREFIX = `/auth/realms/${REALM}`;
const API_PATH = '/main/ifsapplications/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()';
const KC = '/protocol/openid-connect';

// Counters for tests. Never holds a secret, code or token.
const stats = {
  // successful token-endpoint grants by grant_type
  grants: {},
  // failed token-endpoint requests by grant_type ("unknown" when it could not be read)
  grant_errors: {},
  // how the client authenticated at the token endpoint: basic, post, none
  token_auth: {},
  // requests per oidc-provider route name (authorization, token, pushed_authorization_request, ...)
  routes: {},
  // IFS API probe answers by status code
  api: {},
  // parameters of the last authorization requests (pushed or direct), newest last, at most 20
  authorization_requests: [],
};

function bump(obj, key) {
  obj[key] = (obj[key] || 0) + 1;
}

function titleCase(s) {
  return s.length ? s[0].toUpperCase() + s.slice(1) : s;
}

const clientBase = {
  application_type: 'native',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
};

const clients = [
  { ...clientBase, client_id: 'ifs-public', token_endpoint_auth_method: 'none' },
  {
    ...clientBase,
    client_id: 'ifs-confidential',
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    ...clientBase,
    client_id: 'ifs-confidential-post',
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_post',
  },
  {
    client_id: 'ifs-service',
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  },
  ...EXTRA_CLIENTS,
];

// A fresh signing key per run: the JWKS is real and tests never depend on a fixed key.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = {
  ...privateKey.export({ format: 'jwk' }),
  kid: crypto.randomBytes(8).toString('hex'),
  use: 'sig',
  alg: 'RS256',
};

let provider;
let callback;
let server;
let shuttingDown = false;

function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  const force = setTimeout(() => process.exit(code), 1000);
  force.unref();
  if (server) {
    server.close(() => process.exit(code));
    server.closeAllConnections();
  } else {
    process.exit(code);
  }
}

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

async function handleApi(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    bump(stats.api, '405');
    sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'use GET' } }, { allow: 'GET, HEAD' });
    return;
  }
  if (API_STATUS) {
    bump(stats.api, String(API_STATUS));
    const headers = API_STATUS === 503 ? { 'retry-after': '1' } : {};
    const code = API_STATUS === 503 ? 'MI_MODIFIED_ERROR' : 'FORCED_BY_TEST';
    sendJson(res, API_STATUS, { error: { code, message: `forced status ${API_STATUS}` } }, headers);
    return;
  }
  const auth = req.headers.authorization || '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  let token;
  let userId;
  if (m) {
    try {
      token = await provider.AccessToken.find(m[1]);
      userId = token?.accountId;
      if (!token) {
        token = await provider.ClientCredentials.find(m[1]);
        userId = token && `service-account-${token.clientId}`;
      }
    } catch {
      token = undefined;
    }
  }
  if (!token) {
    bump(stats.api, '401');
    const error = m ? 'error="invalid_token"' : `realm="${REALM}"`;
    sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: 'missing or invalid bearer token' } }, {
      'www-authenticate': `Bearer ${error}`,
    });
    return;
  }
  bump(stats.api, '200');
  sendJson(res, 200, {
    '@odata.context': 'FrameworkServices.svc/$metadata#Edm.ComplexType',
    UserId: userId,
  });
}

function pathOf(url) {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function safeDecode(p) {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

async function route(req, res) {
  const url = req.url || '/';
  const path = pathOf(url);

  if (callback && (path === PREFIX || path.startsWith(`${PREFIX}/`))) {
    req.originalUrl = url;
    req.url = url.slice(PREFIX.length) || '/';
    if (req.url.startsWith('?')) req.url = `/${req.url}`;
    callback(req, res);
    return;
  }
  if (path === '/__stats' && req.method === 'GET') {
    sendJson(res, 200, stats);
    return;
  }
  if (provider && safeDecode(path) === API_PATH) {
    await handleApi(req, res);
    return;
  }
  sendJson(res, 404, { error: 'not_found', path });
}

// Listen first: the issuer needs the port the OS chose.
server = http.createServer((req, res) => {
  route(req, res).catch((err) => {
    console.error('provider.mjs: request failed:', err);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    else res.destroy();
  });
});
server.keepAliveTimeout = 2000;

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const { port } = server.address();
const baseUrl = `http://127.0.0.1:${port}`;
const issuer = `${baseUrl}${PREFIX}`;

const configuration = {
  clients,
  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  pkce: { required: PKCE === 'required' ? () => true : () => false },
  scopes: ['openid', 'email', 'profile', 'offline_access'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@example.com`,
          email_verified: true,
          name: titleCase(id),
          preferred_username: id,
        };
      },
    };
  },
  async issueRefreshToken(_ctx, client, code) {
    if (!client.grantTypeAllowed('refresh_token')) return false;
    return REFRESH === 'always' || code.scopes.has('offline_access');
  },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    pushedAuthorizationRequests: {
      enabled: PAR !== '0',
      requirePushedAuthorizationRequests: PAR === 'required',
    },
  },
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    IdToken: ID_TOKEN_TTL,
    RefreshToken: REFRESH_TOKEN_TTL,
    AuthorizationCode: 60,
    DeviceCode: 600,
    Interaction: 3600,
    Session: 86400,
    Grant: 86400,
  },
  // Keycloak's endpoint paths, relative to the issuer.
  routes: {
    authorization: `${KC}/auth`,
    token: `${KC}/token`,
    userinfo: `${KC}/userinfo`,
    jwks: `${KC}/certs`,
    end_session: `${KC}/logout`,
    revocation: `${KC}/revoke`,
    introspection: `${KC}/token/introspect`,
    device_authorization: `${KC}/auth/device`,
    pushed_authorization_request: `${KC}/ext/par/request`,
    code_verification: '/device',
  },
  renderError(ctx, out) {
    // Plain page with the error, and nothing loaded from elsewhere.
    ctx.type = 'html';
    const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    ctx.body = `<!DOCTYPE html><html><head><title>oops! something went wrong</title></head><body>`
      + `<h1>oops! something went wrong</h1>`
      + Object.entries(out).map(([k, v]) => `<pre><strong>${esc(k)}</strong>: ${esc(v)}</pre>`).join('')
      + `</body></html>`;
  },
};

provider = new Provider(issuer, configuration);

provider.on('server_error', (_ctx, err) => console.error('provider.mjs: server_error:', err));

const AUTH_PARAM_KEYS = [
  'client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'nonce', 'code_challenge',
  'code_challenge_method', 'prompt', 'login_hint', 'max_age', 'ui_locales', 'request_uri',
  'response_mode', 'acr_values',
];

provider.use(async (ctx, next) => {
  await next();
  const routeName = ctx.oidc?.route;
  if (!routeName) return;
  bump(stats.routes, routeName);

  if (routeName === 'token') {
    const body = ctx.oidc.body || {};
    const grantType = ctx.oidc.params?.grant_type || body.grant_type || 'unknown';
    if (ctx.status >= 200 && ctx.status < 300) bump(stats.grants, grantType);
    else bump(stats.grant_errors, grantType);
    // Keycloak answers a client without Service Accounts with unauthorized_client;
    // oidc-provider says invalid_request. Answer as Keycloak does.
    if (grantType === 'client_credentials' && ctx.status === 400
        && ctx.body?.error_description === 'requested grant type is not allowed for this client') {
      ctx.body = { error: 'unauthorized_client', error_description: 'Client not enabled to retrieve service account' };
    }
    let how = 'none';
    if (/^basic\s/i.test(ctx.get('authorization'))) how = 'basic';
    else if (body.client_secret !== undefined) how = 'post';
    bump(stats.token_auth, how);
  } else if (routeName === 'authorization' || routeName === 'pushed_authorization_request') {
    const source = ctx.method === 'GET' ? ctx.query : (ctx.oidc.body || {});
    const params = {};
    for (const k of AUTH_PARAM_KEYS) if (source[k] !== undefined) params[k] = source[k];
    // Parameters the client added beyond the standard ones.
    const extra = Object.keys(source).filter((k) => !AUTH_PARAM_KEYS.includes(k) && k !== 'client_secret');
    for (const k of extra) params[k] = source[k];
    stats.authorization_requests.push({ route: routeName, status: ctx.status, params });
    if (stats.authorization_requests.length > 20) stats.authorization_requests.shift();
  } else if (routeName === 'discovery' && DISCOVERY_PATCH && ctx.body && typeof ctx.body === 'object') {
    for (const [k, v] of Object.entries(DISCOVERY_PATCH)) {
      if (v === null) delete ctx.body[k];
      else ctx.body[k] = v;
    }
  }

  // The dev interaction pages @import a web font: strip it so a test browser asks nothing from outside.
  if (typeof ctx.body === 'string' && ctx.response.is('html')) {
    ctx.body = ctx.body.replace(/@import url\([^)]*\);?/g, '');
  }
});

callback = provider.callback();

process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
if (env.PROVIDER_IGNORE_STDIN !== '1') {
  process.stdin.on('end', () => shutdown(0));
  process.stdin.on('close', () => shutdown(0));
  process.stdin.on('error', () => shutdown(0));
  process.stdin.resume();
}

process.stdout.write(`${JSON.stringify({ issuer, port, base_url: baseUrl })}\n`);
