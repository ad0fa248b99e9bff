#!/usr/bin/env python3
"""The chart of the side-by-side (issue 15): ifs-connect's figure divided by the best peer's, per
measure, per provider. Below 1 ifs-connect is ahead. Run by bench/peers/run with bench/.venv's
matplotlib (bench/chart-requirements.txt):

  chart.py RESULTS_DIR OUT.svg
"""

import json
import os
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend is chosen first)

MEASURES = [("login", "full login"), ("cached", "cached token"), ("refresh", "refresh"),
            ("client_credentials", "client credentials")]
KINDS = [("wall", "wall time", "#4c72b0"), ("cpu", "client CPU", "#dd8452"),
         ("rss", "peak RSS", "#55a868")]
# The targets, as ratios to the best peer: client CPU at most 0.5, wall time at most 1.0
# (a cached token at most 0.5), peak RSS at most 1.0.
TARGETS = {"cpu": 0.5, "wall": 1.0, "rss": 1.0}
CACHED_TARGET = 0.5


def target(measure, kind):
    return CACHED_TARGET if measure == "cached" and kind == "wall" else TARGETS[kind]


def load(results, name):
    path = os.path.join(results, f"peers-{name}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        data = json.load(f)
    return data if "ratios" in data else None


def panel(ax, title, data):
    ax.set_title(title, fontsize=10)
    labels, y, largest = [], 0, 1.0
    for key, label in MEASURES:
        ratios = data["ratios"].get(key)
        if not ratios:
            continue
        for i, (kind, _, colour) in enumerate(KINDS):
            value = ratios[kind]
            largest = max(largest, value)
            pos = y + (1 - i) * 0.27
            ax.barh(pos, value, height=0.25, color=colour)
            ax.text(value * 1.04, pos, f"{value:.2f}", va="center", fontsize=7)
            limit = target(key, kind)
            ax.plot([limit, limit], [pos - 0.13, pos + 0.13], color="black", lw=2)
        labels.append((y, label))
        y -= 1
    ax.set_yticks([p for p, _ in labels], [name for _, name in labels])
    ax.set_xscale("log")
    ticks = [t for t in (0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32) if t <= largest * 2]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xlim(0.1, max(ticks[-1], largest * 1.6))
    ax.minorticks_off()
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("ifs-connect ÷ best peer (log scale; < 1: ifs-connect ahead)", fontsize=8)
    ax.tick_params(labelsize=8)


def cell(stats):
    return f"{stats['median']:g} ({stats['min']:g}–{stats['max']:g})"


def markdown(name, data):
    """The results as the table BENCHMARKS.md carries: median (min–max) per client."""
    lines = [f"| {name} | client | wall ms | client CPU ms | peak RSS MiB | ratio wall / CPU / RSS |",
             "| --- | --- | --- | --- | --- | --- |"]
    for key, label in MEASURES:
        clients = data.get(key, {})
        if "ifs-connect" not in clients:
            lines.append(f"| {label} | not measured: {clients.get('not_measured', '')} | | | | |")
            continue
        r = data["ratios"][key]
        for i, (client, v) in enumerate(clients.items()):
            ratio = f"**{r['wall']} / {r['cpu']} / {r['rss']}**" if i == 0 else ""
            lines.append(f"| {label if i == 0 else ''} | {client} | {cell(v['wall_ms'])} | "
                         f"{cell(v['cpu_ms'])} | {v['peak_rss_mib']} | {ratio} |")
    return "\n".join(lines)


def main():
    results, out = sys.argv[1], sys.argv[2]
    for name in ("keycloak", "oidc-provider"):
        data = load(results, name)
        if data:
            with open(os.path.join(results, f"peers-{name}.md"), "w") as f:
                f.write(markdown(name, data) + "\n")
    targets = [(title, data) for title, data in (
        ("Keycloak over HTTPS (headless Chromium)", load(results, "keycloak")),
        ("oidc-provider over HTTPS (fetch browser)", load(results, "oidc-provider"))) if data]
    if not targets:
        raise SystemExit("chart.py: no peer results to draw")
    # A fixed hash salt and no date: the same results give the same file.
    plt.rcParams["svg.hashsalt"] = "ifs-connect-bench"
    fig, axes = plt.subplots(1, len(targets), figsize=(5.2 * len(targets), 3.6), squeeze=False)
    for ax, (title, data) in zip(axes[0], targets):
        panel(ax, title, data)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for _, _, c in KINDS]
    handles.append(plt.Line2D([0], [0], color="black", lw=2))
    fig.legend(handles, [name for _, name, _ in KINDS] + ["target"], loc="lower center", ncol=4,
               fontsize=8, frameon=False)
    fig.suptitle("ifs-connect against kubelogin, median of alternating rounds", fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    fig.savefig(out, metadata={"Date": None})
    print(f"chart: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
