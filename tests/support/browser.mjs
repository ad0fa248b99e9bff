// A real browser for tests: headless Debian Chromium driven by playwright-core. Opens the URL, signs
// in on the provider's login form (oidc-provider's dev form or Keycloak's own page), consents, and
// waits for the program's loopback callback page; logs one JSON result line (see flow-common.mjs)
// and exits 0 on success, 1 on failure. With BROWSER_ACTION=device the URL is Keycloak's device
// verification page: it enters the user code, signs in, grants access, and succeeds on the
// "Device Login Successful" page. After prompt=login Keycloak asks again on a re-authentication
// page (the password only, under the user's name); the result then says `reauthentication: true`.
//
// HTTPS: with BROWSER_TRUST_SPKI (base64 SHA-256 of a server key) Chromium accepts exactly the
// certificates with that key (the rig's Keycloak), and still refuses every other bad certificate.
//
//   node tests/support/browser.mjs URL      (usually through the `browser` wrapper, as $BROWSER)
//
// Nothing is loaded from outside this machine: every request to a host other than a loopback one
// is aborted, and host name resolution is switched off except for localhost.
//
// For HTTPS and proxy tests (tests/https): BROWSER_CHROMIUM_ARGS adds Chromium flags (space
// separated, e.g. --proxy-server=... --ignore-certificate-errors-spki-list=...), and
// BROWSER_ALLOW_HOSTS (comma separated) names hosts besides loopback that requests may go to
// (through that proxy, which the test runs on 127.0.0.1).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import {
  diag, isLoopback, makeIsCallback, runBounded, settings, sleep,
} from './flow-common.mjs';

const CHROMIUM = process.env.BROWSER_CHROMIUM || '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-quic',
  '--password-store=basic',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]',
  ...(process.env.BROWSER_CHROMIUM_ARGS || '').split(/\s+/).filter(Boolean),
];
const ALLOWED_HOSTS = new Set((process.env.BROWSER_ALLOW_HOSTS || '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
const isAllowedHost = (target) => {
  try {
    return ALLOWED_HOSTS.has(new URL(target).hostname.toLowerCase());
  } catch {
    return false;
  }
};

const url = process.argv[process.argv.length - 1];
const cfg = settings();
if (cfg.trustSpki) ARGS.push(`--ignore-certificate-errors-spki-list=${cfg.trustSpki}`);

await runBounded('chromium', url, cfg, async (result, onCleanup) => {
  if (!url || process.argv.length < 3) throw new Error('usage: browser.mjs URL');
  const isCallback = makeIsCallback(url, cfg.providerOrigin);
  const deadline = Date.now() + cfg.timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());

  // BROWSER_PROFILE keeps the profile (and the provider's session cookie) for the next run.
  const profile = cfg.profile || mkdtempSync(join(tmpdir(), 'ifs-connect-chromium-'));
  if (!cfg.profile) onCleanup(() => rmSync(profile, { recursive: true, force: true, maxRetries: 3 }));

  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    timeout: Math.min(30000, left()),
    viewport: { width: 1000, height: 800 },
    // Off the session bus: the test browser must never touch the keyring the tests inspect (nor
    // start accessibility services there).
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DBUS_SESSION_BUS_ADDRESS')),
  });
  onCleanup(() => context.close());

  await context.route('**/*', (route) => {
    const target = route.request().url();
    if (isLoopback(target) || isAllowedHost(target) || target.startsWith('data:') || target.startsWith('about:')) {
      return route.continue();
    }
    diag(`chromium: blocked a request to ${target}`);
    return route.abort('blockedbyclient');
  });

  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15000);

  // The first main-frame navigation to the callback: its response (any status) or its failure.
  let resolveCallback;
  const callbackDone = new Promise((r) => { resolveCallback = r; });
  let callback = null;
  page.on('request', (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) {
      result.steps.push(`${req.method()} ${req.url()}`);
    }
  });
  let lastStatus = null;
  page.on('response', (res) => {
    const req = res.request();
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) lastStatus = res.status();
    if (!callback && req.isNavigationRequest() && req.frame() === page.mainFrame() && isCallback(res.url())) {
      callback = { status: res.status(), url: res.url() };
      resolveCallback();
    }
  });
  page.on('requestfailed', (req) => {
    if (!callback && req.isNavigationRequest() && req.frame() === page.mainFrame() && isCallback(req.url())) {
      callback = { status: null, url: req.url(), failure: req.failure()?.errorText || 'failed' };
      resolveCallback();
    }
  });

  const snapshot = async () => {
    const [title, text] = await Promise.all([
      page.title().catch(() => null),
      page.evaluate(() => document.body?.innerText ?? '').catch(() => null),
    ]);
    if (cfg.screenshot) {
      await page.screenshot({ path: cfg.screenshot, fullPage: true }).catch((e) => diag(`chromium: screenshot failed: ${e.message}`));
    }
    return { final_url: page.url(), title, text, status: lastStatus };
  };

  try {
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: Math.min(20000, left()) });
  } catch (e) {
    if (!callback) throw e; // a callback that refused the connection is handled below
  }

  if (cfg.action === 'ignore') {
    return { ok: true, ...(await snapshot()) };
  }

  const handled = new Set();
  while (!callback && Date.now() < deadline) {
    let state;
    try {
      state = await page.evaluate(() => {
        // oidc-provider's dev form names the field "login", Keycloak's "username".
        // On a re-authentication (prompt=login) Keycloak shows the user's name, not a field.
        const login = document.querySelector('input[name=login]')
          || document.querySelector('#kc-form-login input[name=username]')
          || document.querySelector('#kc-form-login input[name=password]');
        const text = document.body?.innerText ?? '';
        const username = document.querySelector('#kc-form-login input[name=username]');
        const visible = (el) => !!el && el.type !== 'hidden' && el.getClientRects().length > 0;
        return {
          url: location.href,
          ready: document.readyState,
          title: document.title,
          login: !!login,
          keycloak: !!document.querySelector('#kc-form-login'),
          // Keycloak's re-authentication page: the password only, under the user's name.
          reauth: !!document.querySelector('#kc-form-login input[name=password]') && !visible(username),
          rememberMe: visible(document.querySelector('#rememberMe')),
          prefill: login && login.name !== 'password' ? login.value : null,
          consent: !!document.querySelector('input[name=prompt][value=consent], #kc-oauth [name=accept]'),
          deviceCode: !!document.querySelector('input[name=device_user_code]'),
          deviceDone: /Device Login Successful/i.test(text),
          // Keycloak's refusal of the credentials, shown above its login form.
          // (An info line such as "Please re-authenticate to continue" is no refusal.)
          loginError: (document.querySelector('#input-error, #input-error-username, .pf-m-danger .kc-feedback-text, .pf-m-danger .pf-v5-c-alert__title, .alert-error .kc-feedback-text')?.innerText || '').trim(),
          abort: document.querySelector('a[href$="/abort"]')?.href || null,
        };
      });
    } catch {
      await sleep(50); // navigating: the old document is gone, the new one not there yet
      continue;
    }
    if (callback) break;
    if (state.ready === 'loading') {
      await sleep(50);
      continue;
    }
    if (cfg.action === 'device' && state.deviceDone) return { ok: true, ...(await snapshot()) };
    const form = state.login ? 'login' : state.consent ? 'consent' : state.deviceCode ? 'device' : 'other';
    const key = `${state.url}#${form}`;
    if (state.deviceCode && cfg.action === 'device' && !handled.has(key)) {
      handled.add(key);
      await enterUserCode(page, cfg, new URL(url).searchParams.get('user_code'), left());
    } else if (state.login && state.keycloak && state.loginError && result.login_pages) {
      // Signing in again would only repeat the refusal.
      return { ok: false, error: `the provider refused the sign-in: ${state.loginError}`, ...(await snapshot()) };
    } else if ((state.login || state.consent) && !handled.has(key)) {
      handled.add(key);
      if (state.login) {
        result.login_prefill = state.prefill || null;
        result.login_pages = (result.login_pages || 0) + 1;
        if (state.reauth) result.reauthentication = true;
      }
      const deny = cfg.action === 'deny' || (cfg.action === 'deny-consent' && state.consent);
      try {
        if (deny) {
          if (!state.abort) return { ok: false, error: 'no abort link on the provider page', ...(await snapshot()) };
          diag('chromium: choosing Cancel');
          await page.click('a[href$="/abort"]', { timeout: Math.min(10000, left()) });
        } else if (state.login) {
          diag('chromium: signing in');
          const field = state.keycloak ? '#kc-form-login input[name=username]' : 'input[name=login]';
          const editable = page.locator(field);
          if (await editable.isVisible() && await editable.isEditable()) {
            await page.fill(field, cfg.login || state.prefill || 'alice', { timeout: Math.min(10000, left()) });
          }
          await page.fill('input[name=password]', cfg.password, { timeout: Math.min(10000, left()) });
          // The re-authentication page has no "Remember me": waiting for it would stall here.
          if (cfg.rememberMe && state.rememberMe) await page.check('#rememberMe', { timeout: Math.min(10000, left()) });
          await page.click(state.keycloak ? '#kc-login' : 'button[type=submit]', { timeout: Math.min(10000, left()) });
        } else {
          diag('chromium: consenting');
          await page.click('input[name=prompt][value=consent] ~ button[type=submit], #kc-oauth [name=accept], button[type=submit]', { timeout: Math.min(10000, left()) });
        }
      } catch (e) {
        if (!callback) diag(`chromium: page action: ${e.message.split('\n')[0]}`);
      }
    } else if (!state.login && !state.consent && !handled.has(key)) {
      // Neither form nor callback: an error page of the provider, most likely. Give a pending
      // navigation a moment, then report what is shown.
      await Promise.race([callbackDone, sleep(1000)]);
      if (callback) break;
      const now = await page.evaluate(() => location.href).catch(() => null);
      if (now === state.url) {
        return { ok: false, error: 'neither a login or consent form nor the callback', ...(await snapshot()) };
      }
    }
    await Promise.race([callbackDone, sleep(100)]);
  }
  if (cfg.action === 'device') return { ok: false, error: 'the device login did not succeed before the deadline', ...(await snapshot()) };
  if (!callback) return { ok: false, error: 'no callback before the deadline', ...(await snapshot()) };

  if (callback.failure) {
    return {
      ok: false, final_url: callback.url, status: null, error: `callback request failed: ${callback.failure}`,
    };
  }
  await page.waitForLoadState('load', { timeout: Math.min(10000, left()) }).catch(() => {});
  const shot = await snapshot();
  if (cfg.lingerMs) await sleep(Math.min(cfg.lingerMs, left()));
  return { ok: true, ...shot, status: callback.status };
});

// Keycloak's device verification page: the code from BROWSER_USER_CODE, else from the URL
// (verification_uri_complete), else what the page prefilled.
async function enterUserCode(page, cfg, fromUrl, left) {
  diag('chromium: entering the user code');
  const field = 'input[name=device_user_code]';
  const code = cfg.userCode || fromUrl || (await page.inputValue(field).catch(() => ''));
  await page.fill(field, code, { timeout: Math.min(10000, left) });
  await page.click('#kc-login, button[type=submit], input[type=submit]', { timeout: Math.min(10000, left) });
}
