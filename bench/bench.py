#!/usr/bin/env python3
"""Measurements for bench/run (issue 7). Each subcommand prints one JSON object on stdout.

  bench.py login    BIN N        login overhead: ifs-connect vs openid-client vs Authlib
  bench.py startup  BIN N        exec -> first full list frame, 0 / 100 / 10,000 connectors
  bench.py idle     BIN SECONDS  CPU used while idle on the list and while waiting for the redirect

Every server is on 127.0.0.1; every wait is bounded; every process started is ended.
"""

import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SUPPORT = os.path.join(REPO, "tests", "support")
TICK = os.sysconf("SC_CLK_TCK")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class Provider:
    """tests/support/provider.mjs on 127.0.0.1, PAR off so every client sends the same requests."""

    def __init__(self, extra_env=None, node_args=()):
        env = dict(os.environ, PROVIDER_PAR="0", PROVIDER_REALM="bench", **(extra_env or {}))
        self.proc = subprocess.Popen(["node", *node_args, os.path.join(SUPPORT, "provider.mjs")], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit("the provider did not start within 30 s")
        ready = json.loads(line)
        self.issuer, self.base_url = ready["issuer"], ready["base_url"]

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_measured(argv, env, timeout=40, stdin=subprocess.DEVNULL):
    """Wall seconds, CPU seconds (user+sys of the process and the children it waited for),
    peak RSS in KiB, exit status and stdout of one run. The command runs under the launcher
    bench/rusage.c (its path in $BENCH_RUSAGE, built by bench/run), which takes CPU and RSS
    from wait4 of its own child: a child of this Python would report this Python's peak RSS."""
    launcher = os.environ.get("BENCH_RUSAGE")
    if not launcher:
        raise SystemExit("BENCH_RUSAGE is not set: run this through bench/run")
    out = tempfile.TemporaryFile()
    with tempfile.NamedTemporaryFile(prefix="ifs-bench-rusage-") as report:
        start = time.perf_counter()
        proc = subprocess.Popen([launcher, report.name, *argv], env=env, stdin=stdin, stdout=out,
                                stderr=subprocess.DEVNULL, cwd=REPO, start_new_session=True)
        # A blocking wait (Popen.wait with a timeout polls, which would blur the wall time);
        # a timer ends the run's process group if it overstays.
        killer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        killer.start()
        try:
            os.waitpid(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = 0  # reaped above: keeps Popen from waiting for it again
        fields = report.read().split()
    if len(fields) != 4:
        return {"wall": wall, "cpu": 0.0, "rss_kib": 0, "status": -1, "stdout": ""}
    status, user_us, sys_us, rss_kib = (int(f) for f in fields)
    out.seek(0)
    return {"wall": wall, "cpu": (user_us + sys_us) / 1e6, "rss_kib": rss_kib, "status": status,
            "stdout": out.read().decode(errors="replace")}


def base_env(home):
    env = dict(os.environ)
    for key in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(key, None)
    env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, "config"),
               XDG_DATA_HOME=os.path.join(home, "data"), XDG_CACHE_HOME=os.path.join(home, "cache"),
               IFS_CONNECT_CONFIG_DIR=os.path.join(home, "ifs", "config"),
               IFS_CONNECT_DATA_DIR=os.path.join(home, "ifs", "data"), NO_COLOR="1")
    return env


def login(binary, n):
    home = tempfile.mkdtemp(prefix="ifs-bench-")
    provider = Provider()
    try:
        env = base_env(home)
        browser = os.path.join(HERE, "browser-detached")
        add = subprocess.run([binary, "add", "--name", "bench", "--base-url", provider.base_url,
                              "--auth", "openid", "--authority", provider.issuer,
                              "--client-id", "ifs-public", "--scopes", "openid profile email",
                              "--no-par", "--probe-path", ""], env=env, capture_output=True,
                             timeout=30)
        if add.returncode != 0:
            raise SystemExit(f"add failed: {add.stderr.decode()}")
        clients = {
            "ifs-connect": ([binary, "login", "bench", "--json", "--timeout", "30"],
                            dict(env, BROWSER=browser)),
            "openid-client (node)": (["node", os.path.join(HERE, "ref-node", "login.mjs")],
                                     dict(env, ISSUER=provider.issuer, CLIENT_ID="ifs-public",
                                          BROWSER_CMD=browser)),
            "authlib (python)": ([os.path.join(HERE, "ref-python", ".venv", "bin", "python"),
                                  os.path.join(HERE, "ref-python", "login.py")],
                                 dict(env, ISSUER=provider.issuer, CLIENT_ID="ifs-public",
                                      BROWSER_CMD=browser)),
        }
        runs = {name: [] for name in clients}
        for i in range(n + 1):  # the first round warms caches and is dropped
            for name, (argv, cenv) in clients.items():
                r = run_measured(argv, cenv)
                ok = r["status"] == 0 and '"ok":true' in r["stdout"].replace(" ", "")
                if not ok:
                    raise SystemExit(f"{name} run {i} failed: {r['stdout'][:400]}")
                if i:
                    runs[name].append(r)
        result = {}
        for name, rs in runs.items():
            result[name] = {
                "wall_ms_median": round(statistics.median(r["wall"] for r in rs) * 1000, 1),
                "cpu_ms_median": round(statistics.median(r["cpu"] for r in rs) * 1000, 1),
                "peak_rss_mib_max": round(max(r["rss_kib"] for r in rs) / 1024, 1),
                "runs": len(rs),
            }
        refs = [v for k, v in result.items() if k != "ifs-connect"]
        me = result["ifs-connect"]
        best_wall = min(r["wall_ms_median"] for r in refs)
        best_cpu = min(r["cpu_ms_median"] for r in refs)
        result["ratio_wall_vs_fastest_ref"] = round(me["wall_ms_median"] / best_wall, 3)
        result["ratio_cpu_vs_fastest_ref"] = round(me["cpu_ms_median"] / best_cpu, 3)
        return result
    finally:
        provider.stop()
        shutil.rmtree(home, ignore_errors=True)


class Tmux:
    def __init__(self, home):
        self.sock = os.path.join(home, "tmux.sock")

    def __call__(self, *args, check=True):
        return subprocess.run(["tmux", "-S", self.sock, "-f", "/dev/null", *args], check=check,
                              capture_output=True, text=True, timeout=20).stdout

    def kill(self):
        self("kill-server", check=False)


def write_config(config_writer, directory, count):
    subprocess.run([config_writer, "--write-config", directory, str(count)], check=True,
                   capture_output=True, timeout=120)


def wait_for(predicate, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    return None


def startup(binary, config_writer, n):
    home = tempfile.mkdtemp(prefix="ifs-bench-")
    tmux = Tmux(home)
    result = {}
    try:
        env = base_env(home)
        tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", "b", "sleep 600")
        tmux("set-option", "-g", "remain-on-exit", "on")
        for count in (0, 100, 10000):
            cfg = os.path.join(home, f"cfg{count}")
            os.makedirs(cfg)
            if count:
                write_config(config_writer, cfg, count)
            samples = []
            for i in range(n + 1):
                stamp = os.path.join(home, f"frame-{count}-{i}")
                start_file = stamp + ".start"
                # The shell records the time, then execs the binary in the same process.
                script = (f"date +%s%6N > {start_file}; exec env IFS_CONNECT_FIRST_FRAME_LOG={stamp} "
                          f"IFS_CONNECT_CONFIG_DIR={cfg} IFS_CONNECT_DATA_DIR={home}/data "
                          f"HOME={home} NO_COLOR=1 {binary}")
                tmux("respawn-pane", "-k", "-t", "b", script)
                got = wait_for(lambda: os.path.exists(stamp) and open(stamp).read().strip(), 10)
                if not got:
                    raise SystemExit(f"no first frame with {count} connectors")
                began = int(open(start_file).read().strip())
                if i:
                    samples.append((int(got) - began) / 1000.0)
                tmux("send-keys", "-t", "b", "q")
                wait_for(lambda: tmux("display", "-p", "-t", "b", "#{pane_dead}").strip() == "1", 5)
            result[f"first_frame_ms_median_{count}"] = round(statistics.median(samples), 2)
            result[f"first_frame_ms_max_{count}"] = round(max(samples), 2)
        return result
    finally:
        tmux.kill()
        shutil.rmtree(home, ignore_errors=True)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def thread_ns(pid):
    """CPU time in ns of each live thread (/proc/PID/task/*/schedstat), far finer than the
    10 ms ticks of /proc/PID/stat."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                out[tid] = int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def ns_between(before, after):
    """CPU ns used between two thread_ns readings: threads alive at both ends by difference,
    new threads in full; a thread that exited in between is missed (its last ms or so)."""
    return sum(ns - before.get(tid, 0) for tid, ns in after.items())


def tmux_pane_pid(tmux):
    return int(tmux("display", "-p", "-t", "b", "#{pane_pid}").strip())


def idle(binary, config_writer, seconds):
    home = tempfile.mkdtemp(prefix="ifs-bench-")
    tmux = Tmux(home)
    provider = Provider()
    result = {}
    try:
        env = base_env(home)
        cfg = os.path.join(home, "ifs", "config")
        os.makedirs(cfg)
        write_config(config_writer, cfg, 100)
        # 1. the list screen, in a real terminal
        stamp = os.path.join(home, "frame")
        tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", "b",
             f"exec env IFS_CONNECT_FIRST_FRAME_LOG={stamp} IFS_CONNECT_CONFIG_DIR={cfg} "
             f"IFS_CONNECT_DATA_DIR={home}/data HOME={home} NO_COLOR=1 {binary}")
        if not wait_for(lambda: os.path.exists(stamp), 10):
            raise SystemExit("the list did not draw")
        pid = tmux_pane_pid(tmux)
        time.sleep(1)
        before, before_ns = cpu_seconds(pid), thread_ns(pid)
        time.sleep(seconds)
        result["idle_list_cpu_ms"] = round((cpu_seconds(pid) - before) * 1000, 1)
        result["idle_list_cpu_ms_schedstat"] = round(ns_between(before_ns, thread_ns(pid)) / 1e6, 3)
        tmux("send-keys", "-t", "b", "q")
        # 2. waiting for the redirect (no browser: the URL is printed, stdin stays open)
        add = subprocess.run([binary, "add", "--name", "idle", "--base-url", provider.base_url,
                              "--auth", "openid", "--authority", provider.issuer,
                              "--client-id", "ifs-public", "--probe-path", ""],
                             env=env, capture_output=True, timeout=30)
        if add.returncode != 0:
            raise SystemExit(f"add failed: {add.stderr.decode()}")
        proc = subprocess.Popen([binary, "login", "idle", "--no-browser", "--timeout", "120"],
                                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            time.sleep(2)  # discovery, JWKS and the listener are done well before this
            before, before_ns = cpu_seconds(proc.pid), thread_ns(proc.pid)
            time.sleep(seconds)
            result["idle_waiting_redirect_cpu_ms"] = round((cpu_seconds(proc.pid) - before) * 1000, 1)
            result["idle_waiting_redirect_cpu_ms_schedstat"] = round(
                ns_between(before_ns, thread_ns(proc.pid)) / 1e6, 3)
            result["idle_seconds"] = seconds
            result["tick_ms"] = round(1000 / TICK, 1)
        finally:
            proc.kill()
            proc.wait()
        return result
    finally:
        tmux.kill()
        provider.stop()
        shutil.rmtree(home, ignore_errors=True)


def main():
    what = sys.argv[1]
    if what == "login":
        out = login(sys.argv[2], int(sys.argv[3]))
    elif what == "startup":
        out = startup(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif what == "idle":
        out = idle(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
