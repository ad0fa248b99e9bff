#!/usr/bin/env python3
"""ifs-connect next to kubelogin (issue 15), over HTTPS. Prints one JSON object on stdout.

  peers.py oidc-provider BIN KUBELOGIN N    the rig's oidc-provider, served over HTTPS by the bench
  peers.py keycloak BIN KUBELOGIN N ENV REALM
                                            the rig's Keycloak: ENV is the env file its rig wrote,
                                            REALM the realm file it imported

Run by bench/run inside a private D-Bus session with an unlocked, throwaway gnome-keyring: the
Secret Service where ifs-connect keeps its tokens (and kubelogin too, in its keyring variant).

Each measure is N rounds after one warm-up round that is dropped; in each round every client runs
once, and the order turns round by round, so a change in the machine's load hits all alike. Every
run is checked (exit 0, a token on stdout; a cached token equal to the last one, a refreshed one
new); a failed run stops the benchmark. Every server is on 127.0.0.1; every wait is bounded; every
process started is ended.
"""

import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

from bench import HERE, REPO, Provider, base_env, log, run_measured

PEERS = os.path.join(HERE, "peers")
BROWSER = os.path.join(HERE, "browser-detached")
KUBELOGIN_BROWSER = os.path.join(PEERS, "kubelogin-browser")
SCOPES = ["openid", "profile", "email"]
# The service client's secret on the local provider: made up for the run, never a real one.
SERVICE_SECRET = "bench-service-secret-" + os.urandom(6).hex()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary(runs):
    def stats(values):
        values = [v * 1000 for v in values]
        return {"median": round(statistics.median(values), 1), "min": round(min(values), 1),
                "max": round(max(values), 1)}
    return {"wall_ms": stats(r["wall"] for r in runs), "cpu_ms": stats(r["cpu"] for r in runs),
            "peak_rss_mib": round(max(r["rss_kib"] for r in runs) / 1024, 1), "runs": len(runs)}


class Target:
    """Where the clients log in: issuer, CA, the clients registered for the benchmark."""

    name = ""
    issuer = base_url = ca = ""
    public_client = short_client = ""  # short: access tokens shorter than ifs-connect's 60 s margin
    service_client = service_secret = ""  # client credentials; "" when the target has none
    browser_env = {}  # login name and password for the scripted browser
    supports_jwt_access_tokens = True

    def grants(self):
        """Successful token grants by type so far, or None when the target does not tell."""
        return None


class HttpsOidcProvider(Target):
    """tests/support/provider.mjs over HTTPS (bench/peers/https-provider.mjs), with a public
    client that has kubelogin's fixed redirect registered next to the usual one."""

    name = "oidc-provider"
    supports_jwt_access_tokens = False  # oidc-provider's access tokens are opaque

    def __init__(self, home, kubelogin_port, access_ttl):
        tls = os.path.join(home, "tls")
        subprocess.run([os.path.join(PEERS, "make-ca"), tls], check=True, timeout=60)
        self.ca = os.path.join(tls, "ca.pem")
        redirects = ["http://127.0.0.1/callback", f"http://127.0.0.1:{kubelogin_port}/"]
        clients = [{"client_id": "bench-public", "application_type": "native",
                    "redirect_uris": redirects, "response_types": ["code"],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "token_endpoint_auth_method": "none"}]
        self.public_client = self.short_client = "bench-public"
        # provider.mjs's service client (client credentials), with a secret made for the run.
        self.service_client, self.service_secret = "ifs-service", SERVICE_SECRET
        self.provider = Provider(
            {"BENCH_TLS_CERT": os.path.join(tls, "leaf.pem"),
             "BENCH_TLS_KEY": os.path.join(tls, "leaf-key.pem"),
             "PROVIDER_EXTRA_CLIENTS": json.dumps(clients), "PROVIDER_REFRESH": "always",
             "PROVIDER_CLIENT_SECRET": SERVICE_SECRET,
             "PROVIDER_ACCESS_TOKEN_TTL": str(access_ttl)},
            ["--import", os.path.join(PEERS, "https-provider.mjs")])
        self.issuer, self.base_url = self.provider.issuer, self.provider.base_url
        if not self.issuer.startswith("https://"):
            raise SystemExit(f"the provider is not on HTTPS: {self.issuer}")
        self.context = ssl.create_default_context(cafile=self.ca)

    def grants(self):
        with urllib.request.urlopen(self.base_url + "/__stats", timeout=10, context=self.context) as r:
            return json.load(r)["grants"]

    def stop(self):
        self.provider.stop()


class RigKeycloak(Target):
    """The rig's Keycloak (tests/support/keycloak/rig), started by bench/run with a throwaway
    admin, which registers kubelogin's fixed redirect on the realm's clients (adapting the rig,
    not the comparison). Clients, user and secret come from the realm file the rig imported."""

    name = "Keycloak"

    def __init__(self, env_file, realm_file, kubelogin_port):
        with open(env_file) as f:
            rig = dict(line.strip().split("=", 1) for line in f if "=" in line)
        url = rig["IFS_CONNECT_TEST_KEYCLOAK_URL"]
        self.ca = rig["IFS_CONNECT_TEST_KEYCLOAK_CA"]
        self.version = rig.get("IFS_CONNECT_TEST_KEYCLOAK_VERSION", "")
        with open(realm_file) as f:
            realm = json.load(f)
        clients = {c["clientId"]: c for c in realm["clients"]}
        for needed in ("ifs_public", "ifs_short", "ifs_service"):
            if needed not in clients:
                raise SystemExit(f"{realm_file} has no client {needed}")
        self.public_client, self.short_client = "ifs_public", "ifs_short"
        self.service_client, self.service_secret = "ifs_service", clients["ifs_service"]["secret"]
        user = next(u for u in realm["users"] if u.get("enabled") and u.get("credentials"))
        self.browser_env = {"BENCH_BROWSER": "chromium", "BROWSER_LOGIN": user["username"],
                            "BROWSER_PASSWORD": user["credentials"][0]["value"],
                            "BROWSER_TRUST_SPKI": rig["IFS_CONNECT_TEST_KEYCLOAK_SPKI"]}
        self.issuer = f"{url}/realms/{realm['realm']}"
        parts = urllib.parse.urlsplit(url)
        self.base_url = f"{parts.scheme}://{parts.netloc}"
        self.context = ssl.create_default_context(cafile=self.ca)
        self.admin_url, self.realm = url, realm["realm"]
        token = self.admin_token()
        for client_id in (self.public_client, self.short_client):
            self.add_redirect(token, client_id, f"http://127.0.0.1:{kubelogin_port}/")

    def request(self, url, data=None, token=None, method=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if isinstance(data, dict):
            data = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        with urllib.request.urlopen(req, timeout=30, context=self.context) as r:
            body = r.read()
        return json.loads(body) if body else None

    def admin_token(self):
        form = urllib.parse.urlencode({
            "grant_type": "password", "client_id": "admin-cli",
            "username": os.environ["BENCH_KEYCLOAK_ADMIN"],
            "password": os.environ["BENCH_KEYCLOAK_ADMIN_PASSWORD"]}).encode()
        url = f"{self.admin_url}/realms/master/protocol/openid-connect/token"
        return self.request(url, form)["access_token"]

    def add_redirect(self, token, client_id, redirect):
        base = f"{self.admin_url}/admin/realms/{self.realm}/clients"
        found = self.request(f"{base}?clientId={urllib.parse.quote(client_id)}", token=token)
        client = found[0]
        if redirect not in client.get("redirectUris", []):
            client["redirectUris"] = [*client.get("redirectUris", []), redirect]
            self.request(f"{base}/{client['id']}", client, token=token, method="PUT")

    def stop(self):
        pass  # bench/run started it and stops it


class IfsConnect:
    label = "ifs-connect"

    def __init__(self, binary, env):
        self.binary, self.env = binary, env

    def run(self, *args, stdin=None):
        return subprocess.run([self.binary, *args], env=self.env, input=stdin, capture_output=True,
                              timeout=60)

    def add_openid(self, name, target, client_id):
        out = self.run("add", "--name", name, "--base-url", target.base_url, "--auth", "openid",
                       "--authority", target.issuer, "--client-id", client_id,
                       "--scopes", " ".join(SCOPES), "--no-par", "--probe-path", "",
                       "--ca-file", target.ca)
        if out.returncode:
            raise SystemExit(f"ifs-connect add failed: {out.stderr.decode()}")

    def add_client_credentials(self, name, target, secret_var):
        """None, or why this build cannot (an ifs-connect without the client-credentials type)."""
        out = self.run("add", "--name", name, "--base-url", target.base_url,
                       "--auth", "client-credentials", "--authority", target.issuer,
                       "--client-id", target.service_client, "--client-secret-env", secret_var,
                       "--probe-path", "", "--ca-file", target.ca)
        return out.stderr.decode().strip().splitlines()[0] if out.returncode else None

    def token_argv(self, name, login=False):
        extra = ["--timeout", "30"] if login else ["--no-login"]
        return [self.binary, "token", name, *extra]

    def forget(self, name):
        out = self.run("logout", name)
        if out.returncode:
            raise SystemExit(f"ifs-connect logout failed: {out.stderr.decode()}")

    @staticmethod
    def token_of(stdout):
        return stdout.strip()


class Kubelogin:
    def __init__(self, binary, env, target, port, storage="disk"):
        self.binary, self.env, self.target, self.port = binary, env, target, port
        self.storage = storage
        self.label = "kubelogin" if storage == "disk" else f"kubelogin ({storage} cache)"

    def common(self, client_id, cache_dir):
        return [self.binary, "get-token", f"--oidc-issuer-url={self.target.issuer}",
                f"--oidc-client-id={client_id}", f"--certificate-authority={self.target.ca}",
                f"--token-cache-dir={cache_dir}"]

    def authcode_argv(self, client_id, cache_dir, force_refresh=False):
        argv = self.common(client_id, cache_dir) + [
            *(f"--oidc-extra-scope={s}" for s in SCOPES if s != "openid"),
            f"--token-cache-storage={self.storage}", "--grant-type=authcode",
            "--oidc-pkce-method=S256", f"--listen-address=127.0.0.1:{self.port}",
            f"--oidc-redirect-url=http://127.0.0.1:{self.port}/",
            f"--browser-command={KUBELOGIN_BROWSER}", "--authentication-timeout-sec=30"]
        return argv + ["--force-refresh"] if force_refresh else argv

    def client_credentials_argv(self, cache_dir):
        # kubelogin takes a client secret only as an argument (or from a kubeconfig): the
        # benchmark's throwaway secret is the one secret that ever goes on a command line here.
        return self.common(self.target.service_client, cache_dir) + [
            f"--oidc-client-secret={self.target.service_secret}",
            "--grant-type=client-credentials", "--oidc-use-access-token",
            "--token-cache-storage=none"]

    @staticmethod
    def token_of(stdout):
        return json.loads(stdout)["status"]["token"]


class Round:
    """One measure: rounds of (client, argv, before) with checks, summarised per client."""

    def __init__(self, what, rounds, target):
        self.what, self.rounds, self.target = what, rounds, target

    def run(self, entries, check):
        """entries: [(client, argv, env, before)]; check(client, token, previous) -> error or None."""
        runs = {c.label: [] for c, *_ in entries}
        last = {}
        for i in range(self.rounds + 1):  # round 0 warms caches and is dropped
            order = entries if i % 2 == 0 else entries[::-1]
            for client, argv, env, before in order:
                if before:
                    before()
                grants = self.target.grants()
                r = run_measured(argv, env, timeout=60)
                token = None
                if r["status"] == 0:
                    try:
                        token = client.token_of(r["stdout"])
                    except (ValueError, KeyError):
                        token = None
                error = (f"exit status {r['status']}" if r["status"] else
                         "no token on stdout" if not token else
                         check(client, token, last.get(client.label), grants))
                if error:
                    raise SystemExit(f"{self.what}, {client.label}, round {i}: {error}")
                last[client.label] = token
                if i:
                    runs[client.label].append(r)
        return {label: summary(rs) for label, rs in runs.items()}

    def grew(self, before, grant_type):
        """None if the provider made exactly one grant of this type since `before` (none at all
        when grant_type is None), else why not. None too when the target does not count."""
        if before is None:
            return None
        after = self.target.grants()
        made = after.get(grant_type, 0) - before.get(grant_type, 0) if grant_type else 0
        others = sum(after.values()) - sum(before.values()) - made
        if made == (1 if grant_type else 0) and not others:
            return None
        return f"expected {'one ' + grant_type if grant_type else 'no'} grant, the provider made {made} (+{others} others)"


def check_login(measure):
    return lambda client, token, previous, grants: measure.grew(grants, "authorization_code")


def check_cached(measure, first):
    def check(client, token, previous, grants):
        if token != first[client.label]:
            return "the token changed: it did not come from the cache"
        return measure.grew(grants, None)
    return check


def check_refresh(measure):
    def check(client, token, previous, grants):
        if grants is not None:  # kubelogin prints the ID token, which can repeat within a second
            return measure.grew(grants, "refresh_token")
        return "the same token as the run before: nothing was refreshed" if token == previous else None
    return check


def check_new_token(measure):
    def check(client, token, previous, grants):
        if grants is not None:
            return measure.grew(grants, "client_credentials")
        return "the same token as the run before" if token == previous else None
    return check


def connections(argv, env):
    """What one run connects to, from strace: D-Bus connections (each a new Secret Service
    session for the keyring) and TCP connections (the provider). Run once, unmeasured, after
    the measured rounds, to say where the time goes; None without strace."""
    if not shutil.which("strace"):
        return None
    with tempfile.NamedTemporaryFile(prefix="ifs-bench-strace-") as trace:
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect", "-o", trace.name, *argv],
                       env=env, capture_output=True, timeout=60, cwd=REPO)
        lines = trace.read().decode(errors="replace").splitlines()
    bus = env.get("DBUS_SESSION_BUS_ADDRESS", "").split("path=")[-1].split(",")[0]
    return {"dbus": sum(1 for line in lines if bus and bus in line),
            "tcp": sum(1 for line in lines if "AF_INET" in line)}


def one_login(client, argv, env, what):
    r = run_measured(argv, env, timeout=60)
    if r["status"] != 0:
        raise SystemExit(f"{what}: the first login of {client.label} failed (status {r['status']})")
    return client.token_of(r["stdout"])


def compare(binary, kubelogin, n, home, target, short_target, port):
    """Every measure against one target; short_target has access tokens under 60 s."""
    # ifs-connect trusts the run's CA through each connector's --ca-file, as kubelogin through
    # --certificate-authority; the browsers through NODE_EXTRA_CA_CERTS (or Chromium's pin).
    env = dict(base_env(home), BROWSER=BROWSER, NODE_EXTRA_CA_CERTS=target.ca,
               **target.browser_env)
    me = IfsConnect(binary, env)
    kl = Kubelogin(kubelogin, env, target, port)
    kl_keyring = Kubelogin(kubelogin, env, target, port, storage="keyring")
    me.add_openid("bench", target, target.public_client)
    result = {"target": target.name, "issuer": target.issuer}

    def fresh_cache(name):
        path = os.path.join(home, name)
        return lambda: (shutil.rmtree(path, ignore_errors=True), os.makedirs(path))

    log(f"  {target.name}: full interactive login ({n} rounds)")
    login = Round("login", n, target)
    result["login"] = login.run([
        (me, me.token_argv("bench", login=True), env, lambda: me.forget("bench")),
        (kl, kl.authcode_argv(target.public_client, os.path.join(home, "kl-login")), env,
         fresh_cache("kl-login")),
    ], check_login(login))

    # The browser's own connections would count as TCP here: only the D-Bus count is kept.
    me.forget("bench")
    login_dbus = connections(me.token_argv("bench", login=True), env)
    login_dbus = login_dbus and {"dbus": login_dbus["dbus"]}

    log(f"  {target.name}: token from the cache ({n} rounds)")
    first = {me.label: one_login(me, me.token_argv("bench", login=True), env, "cached")}
    kl_dir, kl_keyring_dir = os.path.join(home, "kl-cache"), os.path.join(home, "kl-keyring")
    kl_argv = kl.authcode_argv(target.public_client, kl_dir)
    kl_keyring_argv = kl_keyring.authcode_argv(target.public_client, kl_keyring_dir)
    first[kl.label] = one_login(kl, kl_argv, env, "cached")
    first[kl_keyring.label] = one_login(kl_keyring, kl_keyring_argv, env, "cached")
    cached = Round("cached", n, target)
    cached_entries = [(me, me.token_argv("bench"), env, None), (kl, kl_argv, env, None),
                      (kl_keyring, kl_keyring_argv, env, None)]
    result["cached"] = cached.run(cached_entries, check_cached(cached, first))

    log(f"  {short_target.name}: refresh ({n} rounds)")
    short_env = dict(env, NODE_EXTRA_CA_CERTS=short_target.ca)
    me_short = IfsConnect(binary, short_env)
    kl_short = Kubelogin(kubelogin, short_env, short_target, port)
    kl_short_keyring = Kubelogin(kubelogin, short_env, short_target, port, storage="keyring")
    me_short.add_openid("short", short_target, short_target.short_client)
    short_dir, short_keyring_dir = os.path.join(home, "kl-short"), os.path.join(home, "kl-short-k")
    one_login(me_short, me_short.token_argv("short", login=True), short_env, "refresh")
    for client, path in ((kl_short, short_dir), (kl_short_keyring, short_keyring_dir)):
        one_login(client, client.authcode_argv(short_target.short_client, path), short_env,
                  "refresh")
    refresh = Round("refresh", n, short_target)
    # The cached access token lives shorter than ifs-connect's 60 s margin, so every `token`
    # refreshes; kubelogin is told to.
    entries = [(me_short, me_short.token_argv("short"), short_env, None)] + [
        (c, c.authcode_argv(short_target.short_client, path, force_refresh=True), short_env, None)
        for c, path in ((kl_short, short_dir), (kl_short_keyring, short_keyring_dir))]
    result["refresh"] = refresh.run(entries, check_refresh(refresh))
    result["connections"] = {
        "login": {me.label: login_dbus},
        "cached": {c.label: connections(argv, e) for c, argv, e, _ in cached_entries},
        "refresh": {c.label: connections(argv, e) for c, argv, e, _ in entries},
    }

    result["client_credentials"] = client_credentials(me, kl, env, target, n, home)
    result["process_start"] = process_start(binary, kubelogin, env, n)
    return result


def process_start(binary, kubelogin, env, n):
    """The floor under every figure: a run that prints its version (ifs-connect also loads its
    config for `list`), for the note on where the time goes."""
    argvs = {"ifs-connect --version": [binary, "--version"], "ifs-connect list": [binary, "list"],
             "kubelogin version": [kubelogin, "version"]}
    out = {}
    for label, argv in argvs.items():
        runs = [run_measured(argv, env) for _ in range(n)]
        if any(r["status"] for r in runs):
            raise SystemExit(f"{label} failed")
        out[label] = summary(runs)
    return out


def client_credentials(me, kl, env, target, n, home):
    if not target.service_client:
        return {"not_measured": f"{target.name} has no service client here"}
    if not target.supports_jwt_access_tokens:
        return {"not_measured": "kubelogin's client-credentials grant reads the expiry out of the "
                                "access token, so it needs a JWT; oidc-provider's are opaque"}
    cc_env = dict(env, BENCH_SERVICE_SECRET=target.service_secret)
    why = me.add_client_credentials("service", target, "BENCH_SERVICE_SECRET")
    if why:
        return {"not_measured": f"this ifs-connect has no client-credentials type ({why})"}
    log(f"  {target.name}: client-credentials token ({n} rounds)")
    measure = Round("client credentials", n, target)
    me_cc = IfsConnect(me.binary, cc_env)
    return measure.run([
        # With the secret in a variable ifs-connect keeps the token only in the process, and
        # kubelogin runs with no cache: both ask the token endpoint every time.
        (me_cc, me_cc.token_argv("service"), cc_env, None),
        (kl, kl.client_credentials_argv(os.path.join(home, "kl-cc")), cc_env, None),
    ], check_new_token(measure))


def ratios(result):
    out = {}
    for what, clients in result.items():
        if not isinstance(clients, dict) or "ifs-connect" not in clients:
            continue
        me = clients["ifs-connect"]
        peers = {k: v for k, v in clients.items() if k != "ifs-connect"}
        best_wall = min(v["wall_ms"]["median"] for v in peers.values())
        best_cpu = min(v["cpu_ms"]["median"] for v in peers.values())
        best_rss = min(v["peak_rss_mib"] for v in peers.values())
        out[what] = {"wall": round(me["wall_ms"]["median"] / best_wall, 3),
                     "cpu": round(me["cpu_ms"]["median"] / best_cpu, 3),
                     "rss": round(me["peak_rss_mib"] / best_rss, 3)}
    return out


def main():
    what, binary, kubelogin, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    home = tempfile.mkdtemp(prefix="ifs-bench-peers-")
    port = free_port()
    started = []
    try:
        if what == "oidc-provider":
            target = HttpsOidcProvider(os.path.join(home, "p1"), port, access_ttl=600)
            started.append(target)
            short = HttpsOidcProvider(os.path.join(home, "p2"), port, access_ttl=30)
            started.append(short)
        elif what == "keycloak":
            # One Keycloak serves every measure: its ifs_short client's access tokens live 5 s.
            target = short = RigKeycloak(sys.argv[5], sys.argv[6], port)
        else:
            raise SystemExit(__doc__)
        result = compare(binary, kubelogin, n, home, target, short, port)
        result["ratios"] = ratios(result)
        result["target_version"] = getattr(target, "version", "")
        result["sizes"] = {"ifs-connect": os.path.getsize(binary),
                           "kubelogin": os.path.getsize(kubelogin)}
        print(json.dumps(result, indent=1))
    finally:
        for t in started:
            t.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
