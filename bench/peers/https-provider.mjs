// Serves the test rig's provider (tests/support/provider.mjs, oidc-provider) over HTTPS for the
// benchmarks, without touching the rig: loaded first with
//
//   BENCH_TLS_CERT=leaf.pem BENCH_TLS_KEY=leaf-key.pem \
//     node --import ./bench/peers/https-provider.mjs tests/support/provider.mjs
//
// it makes the one `http.createServer` of provider.mjs an HTTPS server with that certificate (made
// by bench/peers/make-ca for the run), and its issuer `https://127.0.0.1:PORT/auth/realms/...`, so
// discovery, the endpoints, the ID tokens' `iss` and the login forms all say https. The ready line
// on stdout says https too. Everything else is provider.mjs as the tests use it.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const { BENCH_TLS_CERT: certFile, BENCH_TLS_KEY: keyFile } = process.env;
if (!certFile || !keyFile) {
  throw new Error('https-provider.mjs needs BENCH_TLS_CERT and BENCH_TLS_KEY (PEM files)');
}
const tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };

const plainCreateServer = http.createServer;
let served = false;
http.createServer = (...args) => {
  if (served) return plainCreateServer(...args);
  served = true;
  const handler = args.find((a) => typeof a === 'function');
  return https.createServer(tls, handler);
};
syncBuiltinESMExports();

// The same module instance provider.mjs imports (it resolves from tests/support/node_modules).
const support = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'support');
const entry = join(support, 'node_modules', 'oidc-provider', 'lib', 'index.js');
const { default: Provider } = await import(pathToFileURL(entry).href);
// provider.mjs builds its issuer as http://127.0.0.1:PORT/...; the constructor stores it with a
// plain assignment, which this accessor turns into the https form.
Object.defineProperty(Provider.prototype, 'issuer', {
  configurable: true,
  set(value) {
    Object.defineProperty(this, 'issuer', {
      value: String(value).replace(/^http:/, 'https:'), writable: true, enumerable: true, configurable: true,
    });
  },
});

const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => write(
  typeof chunk === 'string' ? chunk.replaceAll('"http://127.0.0.1:', '"https://127.0.0.1:') : chunk,
  ...rest,
);
