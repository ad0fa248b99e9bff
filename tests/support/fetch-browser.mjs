// A browser without a browser: walks oidc-provider's dev login with Node's fetch (manual redirects,
// a cookie jar, regex-parsed forms), stops at the first redirect to the program's loopback listener,
// requests it and logs the answer. About 100 ms; for the many tests that need no real page.
//
//   node tests/support/fetch-browser.mjs URL      (usually through the `fetch-browser` wrapper)
//
// Environment and result line: see flow-common.mjs.

import {
  decodeEntities, diag, makeIsCallback, runBounded, settings, titleOf,
} from './flow-common.mjs';

const MAX_REQUESTS = 30;
const REQUEST_TIMEOUT_MS = 15000;

class CookieJar {
  constructor() {
    this.cookies = new Map(); // key host\0name\0path -> {host, name, value, path, expires}
  }

  store(url, setCookies) {
    const u = new URL(url);
    for (const header of setCookies) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = u.pathname.slice(0, u.pathname.lastIndexOf('/')) || '/';
      let expires = Infinity;
      for (const attr of attrs) {
        const i = attr.indexOf('=');
        const k = (i === -1 ? attr : attr.slice(0, i)).trim().toLowerCase();
        const v = i === -1 ? '' : attr.slice(i + 1).trim();
        if (k === 'path' && v.startsWith('/')) path = v;
        else if (k === 'max-age' && /^-?\d+$/.test(v)) expires = Date.now() + Number(v) * 1000;
        else if (k === 'expires' && expires === Infinity) {
          const t = Date.parse(v);
          if (!Number.isNaN(t)) expires = t;
        }
      }
      const key = `${u.hostname}\0${name}\0${path}`;
      if (expires <= Date.now()) this.cookies.delete(key);
      else this.cookies.set(key, { host: u.hostname, name, value, path, expires });
    }
  }

  header(url) {
    const u = new URL(url);
    const now = Date.now();
    const matches = [...this.cookies.values()].filter((c) => c.host === u.hostname && c.expires > now
      && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)));
    matches.sort((a, b) => b.path.length - a.path.length);
    return matches.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

function attrsOf(tag) {
  const out = {};
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  const inner = tag.replace(/^<\w+/, '').replace(/\/?>$/, '');
  let m;
  while ((m = re.exec(inner))) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

function formsOf(html, baseUrl) {
  const forms = [];
  const re = /<form\b[^>]*>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = re.exec(html))) {
    const formTag = /^<form\b[^>]*>/i.exec(m[0])[0];
    const a = attrsOf(formTag);
    const inputs = [];
    const ire = /<input\b[^>]*>/gi;
    let im;
    while ((im = ire.exec(m[1]))) inputs.push(attrsOf(im[0]));
    forms.push({
      action: new URL(a.action || baseUrl, baseUrl).href,
      method: (a.method || 'get').toUpperCase(),
      inputs,
    });
  }
  return forms;
}

function textOf(html) {
  return html;
}

const url = process.argv[process.argv.length - 1];
const cfg = settings();

await runBounded('fetch', url, cfg, async (result) => {
  if (!url || process.argv.length < 3) throw new Error('usage: fetch-browser.mjs URL');
  const isCallback = makeIsCallback(url, cfg.providerOrigin);
  const jar = new CookieJar();
  const deadline = Date.now() + cfg.timeoutMs;

  async function request(target, method = 'GET', form = null) {
    const headers = {
      accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8',
      'user-agent': 'ifs-connect-tests fetch-browser',
    };
    const cookie = jar.header(target);
    if (cookie) headers.cookie = cookie;
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    result.steps.push(`${method} ${target}`);
    const remaining = Math.max(1, Math.min(REQUEST_TIMEOUT_MS, deadline - Date.now()));
    const res = await fetch(target, {
      method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(remaining),
    });
    jar.store(target, res.headers.getSetCookie());
    const text = await res.text();
    return { res, text };
  }

  async function callback(target, method = 'GET', form = null) {
    let answer;
    try {
      answer = await request(target, method, form);
    } catch (e) {
      return {
        ok: false, final_url: target, error: `callback request failed: ${e?.cause?.code || e?.message || e}`,
      };
    }
    const { res, text } = answer;
    return {
      ok: true, final_url: target, status: res.status, title: titleOf(text), text: textOf(text),
    };
  }

  let target = url;
  let method = 'GET';
  let form = null;
  const handled = new Set();
  for (let i = 0; i < MAX_REQUESTS; i += 1) {
    if (isCallback(target)) return { ...(await callback(target, method, form)) };

    const { res, text } = await request(target, method, form);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, target).href;
      if (res.status === 307 || res.status === 308) {
        target = next;
      } else {
        target = next;
        method = 'GET';
        form = null;
      }
      continue;
    }

    const page = { final_url: target, status: res.status, title: titleOf(text), text: textOf(text) };
    if (cfg.action === 'ignore') return { ...page, ok: true };
    if (res.status !== 200) return { ...page, ok: false, error: `provider answered ${res.status}` };

    const forms = formsOf(text, target);
    if (cfg.action === 'device') {
      // The device pages: the code form (auto-posted or typed), then its confirmation.
      if (/<title>\s*Sign-in Success/i.test(text)) return { ...page, ok: true };
      const codeForm = forms.find((f) => f.inputs.some((x) => x.name === 'user_code'));
      if (codeForm) {
        const data = {};
        for (const x of codeForm.inputs) if (x.name) data[x.name] = x.value || '';
        if (!data.user_code) data.user_code = cfg.userCode;
        diag(`fetch: submitting the device ${data.confirm ? 'confirmation' : 'code'} form`);
        target = codeForm.action;
        method = 'POST';
        form = data;
        continue;
      }
    }
    // response_mode=form_post: a form that posts straight to the callback.
    const toCallback = forms.find((f) => isCallback(f.action));
    if (toCallback) {
      const data = Object.fromEntries(toCallback.inputs.filter((x) => x.name).map((x) => [x.name, x.value || '']));
      return { ...(await callback(toCallback.action, 'POST', data)) };
    }

    const loginForm = forms.find((f) => f.inputs.some((x) => x.name === 'login'));
    const consentForm = forms.find((f) => f.inputs.some((x) => x.name === 'prompt' && x.value === 'consent'));
    const abort = /href="([^"]*\/abort)"/.exec(text);
    const current = loginForm || consentForm;
    if (!current || handled.has(target)) {
      return { ...page, ok: false, error: 'no login or consent form on the provider page' };
    }
    handled.add(target);

    if (loginForm) {
      const prefill = loginForm.inputs.find((x) => x.name === 'login')?.value || '';
      result.login_prefill = prefill || null;
    }
    const deny = cfg.action === 'deny' || (cfg.action === 'deny-consent' && !loginForm);
    if (deny) {
      if (!abort) return { ...page, ok: false, error: 'no abort link on the provider page' };
      target = new URL(decodeEntities(abort[1]), target).href;
      method = 'GET';
      form = null;
      continue;
    }

    const data = {};
    for (const x of current.inputs) if (x.name && x.type !== 'submit') data[x.name] = x.value || '';
    if (loginForm) {
      data.login = cfg.login || data.login || 'alice';
      data.password = cfg.password;
    }
    diag(`fetch: submitting ${loginForm ? 'login' : 'consent'} form to ${current.action}`);
    target = current.action;
    method = current.method;
    form = data;
    if (method === 'GET') {
      const u = new URL(target);
      for (const [k, v] of Object.entries(data)) u.searchParams.set(k, v);
      target = u.href;
      form = null;
    }
  }
  return { ok: false, final_url: target, error: `no callback after ${MAX_REQUESTS} requests` };
});
