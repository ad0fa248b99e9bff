// Shared by browser.mjs (Chromium) and fetch-browser.mjs (plain fetch): settings from the
// environment, recognising the program's loopback callback, and the one JSON result line.
//
// Environment:
//   BROWSER_LOG        file the result line is appended to (default /dev/null)
//   BROWSER_LOGIN      login name typed on the provider's login form (default: the value the form
//                      was prefilled with through login_hint, else "alice")
//   BROWSER_PASSWORD   password typed (default "any-password"; the dev provider accepts anything)
//   BROWSER_ACTION     "login" (default): sign in and consent;
//                      "deny": cancel on the first provider page (login), so the provider redirects
//                              to the callback with error=access_denied;
//                      "deny-consent": sign in, then cancel on the consent page;
//                      "ignore": open the URL, log what loaded, and stop (a user who walks away);
//                      "record": request nothing, only log the URL (as opened_url) and exit 0;
//                               the test then drives the flow itself
//                      "device": the URL is a device login's verification URI: submit the user
//                               code (from the URL, or BROWSER_USER_CODE), confirm it, sign in and
//                               consent; ok once the success page shows (the fetch browser walks
//                               the stand-ins' pages, Chromium Keycloak's)
//   BROWSER_PROVIDER_ORIGIN  origin that is not the callback (default: the origin of the URL opened)
//   BROWSER_TIMEOUT_MS overall bound (default 60000)
//   BROWSER_SCREENSHOT PNG path for a screenshot of the final page (Chromium only)
//   BROWSER_LINGER_MS  keep Chromium open this long after the callback page loaded (default 0)
//   BROWSER_TRUST_SPKI base64 SHA-256 of the one server key Chromium trusts beyond its own store
//                      (the rig's Keycloak certificate; Chromium only)
//   BROWSER_PROFILE    Chromium profile directory to use and keep (default: a fresh one, removed),
//                      so a second run reuses the provider's session cookie
//   BROWSER_REMEMBER_ME  "1": tick Keycloak's "Remember me", whose session cookie outlives the
//                      browser (a plain session cookie does not survive Chromium's restart)
//
// Result line (one JSON object, appended to BROWSER_LOG):
//   {"ok":true|false,"opened_url":<the URL given>,"final_url":...,"title":...,"text":...,
//    "status":N|null,"error":null|"...","login_prefill":null|"...","steps":[urls...],
//    "login_pages":N (login forms filled in),
//    "elapsed_ms":N,"engine":"chromium"|"fetch"}
// final_url is the callback URL once the program's listener was reached (status and text are its
// answer); otherwise the page where the flow stopped.

import { appendFileSync } from 'node:fs';

export const env = process.env;

export function settings() {
  const timeoutMs = Number(env.BROWSER_TIMEOUT_MS || 60000);
  const action = env.BROWSER_ACTION || 'login';
  if (!['login', 'deny', 'deny-consent', 'ignore', 'record', 'device'].includes(action)) {
    throw new Error(`BROWSER_ACTION must be login, deny, deny-consent, ignore, record or device, got ${action}`);
  }
  return {
    log: env.BROWSER_LOG || '/dev/null',
    login: env.BROWSER_LOGIN || '',
    userCode: env.BROWSER_USER_CODE || '',
    password: env.BROWSER_PASSWORD || 'any-password',
    action,
    providerOrigin: env.BROWSER_PROVIDER_ORIGIN || '',
    timeoutMs: Number.isFinite(timeoutMs) && timeoutMs > 0 ? Math.min(timeoutMs, 600000) : 60000,
    screenshot: env.BROWSER_SCREENSHOT || '',
    lingerMs: Math.min(Number(env.BROWSER_LINGER_MS || 0) || 0, 30000),
    trustSpki: env.BROWSER_TRUST_SPKI || '',
    profile: env.BROWSER_PROFILE || '',
    rememberMe: env.BROWSER_REMEMBER_ME === '1',
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function isLoopback(url) {
  try {
    return LOOPBACK_HOSTS.has(new URL(url).hostname.toLowerCase());
  } catch {
    return false;
  }
}

// The program's loopback listener: a loopback URL that is not on the provider's origin.
export function makeIsCallback(startUrl, providerOrigin) {
  let origin = providerOrigin;
  if (!origin) {
    try {
      origin = new URL(startUrl).origin;
    } catch {
      origin = '';
    }
  }
  return (url) => {
    if (!isLoopback(url)) return false;
    try {
      const u = new URL(url);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin !== origin;
    } catch {
      return false;
    }
  };
}

let written = false;

export function writeResult(log, result) {
  if (written) return;
  written = true;
  const line = JSON.stringify({
    ok: false,
    final_url: null,
    title: null,
    text: null,
    status: null,
    error: null,
    login_prefill: null,
    login_pages: 0,
    steps: [],
    ...result,
  });
  try {
    appendFileSync(log, `${line}\n`);
  } catch (e) {
    process.stderr.write(`cannot write ${log}: ${e.message}\n${line}\n`);
  }
}

export function diag(msg) {
  process.stderr.write(`[${new Date().toISOString()}] ${msg}\n`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function titleOf(html) {
  const m = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html || '');
  return m ? decodeEntities(m[1].trim()) : '';
}

export function decodeEntities(s) {
  return s
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

// Run `main(result, onCleanup)` under the overall deadline; on timeout or error log a failure and
// exit 1. Functions given to onCleanup run (bounded to 5 s in all) before the process exits.
export async function runBounded(name, startUrl, cfg, main) {
  const started = Date.now();
  const result = { engine: name, opened_url: startUrl, steps: [] };
  const cleanups = [];
  let finishing = false;
  const finish = async (extra, code) => {
    if (finishing) return;
    finishing = true;
    writeResult(cfg.log, { ...result, ...extra, elapsed_ms: Date.now() - started });
    // A kept profile needs Chromium's orderly shutdown, which writes its cookies to disk.
    const hard = setTimeout(() => process.exit(code), cfg.profile ? 20000 : 5000);
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        diag(`${name}: cleanup failed: ${e?.message || e}`);
      }
    }
    clearTimeout(hard);
    process.exit(code);
  };
  const timer = setTimeout(() => {
    diag(`${name}: timed out after ${cfg.timeoutMs} ms`);
    finish({ ok: false, error: `timed out after ${cfg.timeoutMs} ms` }, 1);
  }, cfg.timeoutMs);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(sig, () => finish({ ok: false, error: `killed by ${sig}` }, 1));
  }
  try {
    const out = cfg.action === 'record'
      ? { ok: true, final_url: null }
      : await main(result, (fn) => cleanups.push(fn));
    clearTimeout(timer);
    await finish(out, out.ok ? 0 : 1);
  } catch (e) {
    clearTimeout(timer);
    diag(`${name}: ${e?.stack || e}`);
    await finish({ ok: false, error: String(e?.message || e) }, 1);
  }
}
