"""Runs every benchmark and writes BENCHMARKS.md: the figures side by side with their
baselines (as ratios, medians of several runs), the machine, versions and exact commands.

Usage: .venv/bin/python bench/run_all.py [--tiny] [--out BENCHMARKS.md] [--only NAME ...]
--tiny runs each benchmark at a size that only proves it works (the smoke test uses it);
its figures mean nothing, and its page goes to bench/.data/BENCHMARKS-tiny.md. Raw results
go to bench/.data/results-*.json (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

NAMES = ("throughput", "responsiveness", "latency", "scale", "startup")

FULL = {
    "throughput": dict(rounds=5, seconds=5.0, warmup=1.0, bodies=2000),
    "responsiveness": dict(count=5000, rounds=3),
    "latency": dict(seconds=20, rate=50, rounds=3),
    "scale": dict(count=1_000_000, base_count=10_000, rounds=3, scroll_cap=30.0),
    "startup": dict(rounds=7),
}
TINY = {
    "throughput": dict(rounds=1, seconds=1.0, warmup=0, bodies=20),
    "responsiveness": dict(count=60, rounds=1),
    "latency": dict(seconds=1, rate=50, rounds=1),
    "scale": dict(count=1_500, base_count=300, rounds=1, scroll_cap=5.0),
    "startup": dict(rounds=1),
}


def run(names, tiny: bool) -> dict:
    import importlib

    params = TINY if tiny else FULL
    results = {}
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"[{time.strftime('%H:%M:%S')}] {name} {params[name]}", file=sys.stderr)
        t = time.perf_counter()
        results[name] = module.run(**params[name])
        results[name]["params"] = params[name]
        results[name]["wall_s"] = time.perf_counter() - t
    return results


# ---- rendering ---------------------------------------------------------------------------
def ok(flag: bool) -> str:
    return "met" if flag else "**missed**"


def f1(x, unit="") -> str:
    return f"{x:,.1f}{unit}" if isinstance(x, (int, float)) else str(x)


def f0(x, unit="") -> str:
    return f"{x:,.0f}{unit}" if isinstance(x, (int, float)) else str(x)


def render_bounds(add, t: dict) -> None:
    """Section 1's proof: what the costs measured in the run allow on this machine."""
    b = t["bounds"]
    med = t["median_rps"]
    add("CPU per request in the timed part (median of the runs; `psutil` thread times, "
        "wrk's from `getrusage`):\n")
    add("| server | main thread | of it in user space | other threads | wrk |")
    add("|---|---|---|---|---|")
    from bench.throughput import SERVERS
    for k, label in SERVERS.items():
        runs = t["runs"][k]
        add(f"| {label} | {common.median(x['server_cpu_us']['main'] for x in runs):.0f} µs | "
            f"{common.median(x['server_cpu_us']['main_user'] for x in runs):.0f} µs | "
            f"{common.median(x['server_cpu_us']['others'] for x in runs):.0f} µs | "
            f"{common.median(x['wrk_cpu_us'] for x in runs):.0f} µs |")
    add("")
    target = 0.8 * med["aiohttp"]
    excluded = b["machine_bound_rps"] < target or b["one_process_bound_rps"] < target
    heading = ("Why 0.8× of bare aiohttp is out of reach on this machine." if excluded else
               "0.8× of bare aiohttp is not excluded by what this run measured.")
    add(f"**{heading}** Per delivery, "
        f"measured in this run: aiohttp's own CPU (the bare server's, per request) "
        f"{b['aiohttp_cpu_us']:.0f} µs; the work a constant-reply server skips (HMAC over the "
        f"raw body, the summary parse of the ~40-field payload, the record's sha256; "
        f"`throughput.work_floor`, alone in a tight loop) {b['work_floor_us']:.0f} µs; the "
        f"store's threads when it takes deliveries alone at concurrency 20 (the durable "
        f"group commit and checkpoints; `throughput.store_floor`, {f0(b['store_rate'])}/s) "
        f"{b['store_cpu_us']:.0f} µs; wrk's own {b['wrk_cpu_us']:.0f} µs. That is "
        f"{b['min_cpu_per_delivery_us']:.0f} µs of CPU per delivery before anything is "
        f"shown: 0.8× the bare server ({f0(0.8 * med['aiohttp'])}/s) needs "
        f"{b['cores_at_0_8']:.1f} cores, and this machine has {b['cores']}. With every core "
        f"busy it allows at most {f0(b['machine_bound_rps'])}/s = "
        f"{b['machine_bound_rps'] / med['aiohttp']:.2f}× the bare server. And in one process "
        f"(the design: the listener inside the GUI's event loop) what holds the GIL cannot "
        f"overlap: aiohttp's user-space time ({b['aiohttp_user_us']:.0f} µs; the rest of "
        f"its CPU is the kernel's socket calls) and the parse ({b['parse_us']:.0f} µs, pure "
        f"Python) allow at most {f0(b['one_process_bound_rps'])}/s = "
        f"{b['one_process_bound_rps'] / med['aiohttp']:.2f}× the bare server on any number "
        f"of cores, before storing or showing anything. Both sums leave out work the "
        f"figure asks for (the table model, notification folding) and all of the app's "
        f"plumbing, so the true ceiling is lower still.\n")
    five = 5 * med["flask"]
    if five > min(b["machine_bound_rps"], b["one_process_bound_rps"]):
        add(f"5× Flask asks for {f0(five)}/s, above those bounds too.\n")
        return
    add(f"**5× Flask ({f0(five)}/s) is not excluded by those bounds; the GUI thread is what "
        f"stops it.** The app's main thread spent {b['app_main_cpu_us']:.0f} µs of CPU per "
        f"delivery and was busy {100 * b['app_main_busy']:.0f}% of the timed part (its other "
        f"threads, mostly the store's writer, {b['app_others_cpu_us']:.0f} µs): even 100% "
        f"busy it passes at most {f0(b['app_main_bound_rps'])}/s = "
        f"{b['app_main_bound_rps'] / med['flask']:.1f}× Flask. 5× needs that thread under "
        f"{1e6 / five:.0f} µs per delivery. Of its cost, aiohttp is about "
        f"{b['aiohttp_cpu_us']:.0f} µs and the floor {b['work_floor_us']:.0f} µs; the rest is "
        f"the app's own path on the GUI thread (the store's future and the wake-up when "
        f"its commit settles, the Qt-hosted loop's iterations, the table model, the tray "
        f"and notification folding, repaints), on two cores that the writer thread and wrk "
        f"share. What was taken off that path is listed under the optimisations below; "
        f"getting under {1e6 / five:.0f} µs needs the listener and its store in a process "
        f"of their own, feeding the window, which is a different design from the embedded "
        f"listener that the design notes (`../shared/docs/design.md`) ask for.\n")


def render(results: dict, command: str, tiny: bool) -> str:
    L: list[str] = []
    add = L.append
    add("# Benchmarks\n")
    when = results.get("generated_at") or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    add(f"Generated by `{command}` on {when}; "
        "the scripts are in `bench/` and each one's docstring says what it measures and how.")
    if tiny:
        add("\n**TINY RUN (smoke test sizes): these figures mean nothing.**")
    add("\nEvery figure is measured side by side with its baseline in the same run, and "
        "quoted as the median of several runs, with the ratio to the baseline: the machine "
        "is small and shared, so absolute numbers drift between runs, ratios much less.\n")
    # The machine the figures came from, which --render may not be running on.
    m, v = results.get("machine") or common.machine(), results.get("versions") or common.versions()
    add("## Machine\n")
    add(f"- {m['cores']} cores ({m['cpu']}), {m['memory']} RAM, {m['os']}")
    add("- " + ", ".join(f"{k} {val}" for k, val in v.items()))
    if "load" in results:
        lb, la = results["load"]["before"], results["load"]["after"]
        add(f"- load average (1/5/15 min) at the start {lb[0]:.2f}/{lb[1]:.2f}/{lb[2]:.2f}, "
            f"at the end {la[0]:.2f}/{la[1]:.2f}/{la[2]:.2f}: the machine is shared, and "
            f"above {m['cores']} every process waits for a core, which wall-clock figures "
            f"(lag, latency) show")
    add("- GUI runs offscreen (`QT_QPA_PLATFORM=offscreen`); keyring disabled "
        "(`PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring`, the secret comes from "
        "`--secret-env`); every app run has a fresh data folder unless said otherwise.\n")
    add("## Summary\n")
    add("| # | figure | Compass Listener | baseline | ratio | target | |")
    add("|---|---|---|---|---|---|---|")
    rows = []
    if "throughput" in results:
        t = results["throughput"]
        mr = t["median_rps"]
        rows.append(("1", "burst throughput, deliveries/s (wrk, c=20)", f0(mr["app"]),
                     f"bare aiohttp {f0(mr['aiohttp'])}", f"{t['ratio_vs_aiohttp']:.2f}×",
                     "≥ 0.8×", ok(t["ratio_vs_aiohttp"] >= 0.8)))
        rows.append(("1", "burst throughput, deliveries/s (wrk, c=20)", f0(mr["app"]),
                     f"Flask `app.run()` {f0(mr['flask'])}", f"{t['ratio_vs_flask']:.2f}×",
                     "≥ 5×", ok(t["ratio_vs_flask"] >= 5)))
    if "responsiveness" in results:
        r = results["responsiveness"]
        md, mi = r["median"], r["median_idle"]
        rows.append(("2", f"loop lag p99 during a {r['count']:,}-delivery burst",
                     f1(md["p99_ms"], " ms"), f"idle app {f1(mi['p99_ms'], ' ms')}",
                     f"{md['p99_ms'] / max(mi['p99_ms'], 1e-9):.1f}×", "< 16 ms",
                     ok(md["p99_ms"] < 16)))
        rows.append(("2", "loop lag max during the burst", f1(md["max_ms"], " ms"),
                     f"idle app {f1(mi['max_ms'], ' ms')}",
                     f"{md['max_ms'] / max(mi['max_ms'], 1e-9):.1f}×", "< 100 ms",
                     ok(md["max_ms"] < 100)))
        rows.append(("2", "last reply → last row in the model",
                     f1(md["last_reply_to_last_row_ms"], " ms"), "–", "–", "(report)", ""))
    if "latency" in results:
        l = results["latency"]["median"]
        rows.append(("3", "request → reply p99 at 50/s", f1(l["reply_p99_ms"], " ms"),
                     f"bare aiohttp {f1(l['bare_reply_p99_ms'], ' ms')}",
                     f"{l['reply_p99_ms'] / l['bare_reply_p99_ms']:.1f}×", "< 20 ms",
                     ok(l["reply_p99_ms"] < 20)))
        rows.append(("3", "fsync of 8 KB p99 at 50/s (disk floor of a durable reply)",
                     f1(l["fsync_p99_ms"], " ms"), "–", "–", "(report)", ""))
        rows.append(("3", "request → row in model p99 at 50/s", f1(l["row_p99_ms"], " ms"),
                     f"bare aiohttp reply {f1(l['bare_reply_p99_ms'], ' ms')}",
                     f"{l['row_p99_ms'] / l['bare_reply_p99_ms']:.1f}×", "< 20 ms",
                     ok(l["row_p99_ms"] < 20)))
    if "scale" in results:
        s = results["scale"]
        b, base = s["big"], s["base"]
        n, bn = f"{b['count']:,}", f"{base['count']:,}"
        rows.append(("4", f"cold start to window + listening, {n} rows",
                     f1(b["cold_start_s"], " s").replace(".0 s", " s") if False else
                     f"{b['cold_start_s']:.2f} s", f"{bn} rows {base['cold_start_s']:.2f} s",
                     f"{b['cold_start_s'] / base['cold_start_s']:.2f}×", "< 2 s",
                     ok(b["cold_start_s"] < 2)))
        rows.append(("4", f"filter matching 0.1% ({b['filter_rows']:,} rows shown)",
                     f1(b["filter_ms"], " ms"), f"{bn} rows {f1(base['filter_ms'], ' ms')}",
                     f"{b['filter_ms'] / base['filter_ms']:.1f}×", "< 300 ms",
                     ok(b["filter_ms"] < 300)))
        rows.append(("4", "scroll to the end of the table" +
                     ("" if b["scroll_reached_end"] else " (gave up: end not reached)"),
                     f1(b["scroll_ms"], " ms"), f"{bn} rows {f1(base['scroll_ms'], ' ms')}",
                     f"{b['scroll_ms'] / base['scroll_ms']:.1f}×", "< 100 ms",
                     ok(b["scroll_ms"] < 100 and b["scroll_reached_end"])))
        rows.append(("4", "peak RSS (start, filter, scroll)", f0(b["peak_rss_mb"], " MB"),
                     f"{bn} rows {f0(base['peak_rss_mb'], ' MB')}",
                     f"{b['peak_rss_mb'] / base['peak_rss_mb']:.2f}×", "< 300 MB",
                     ok(b["peak_rss_mb"] < 300)))
        rows.append(("4", "size on disk per delivery", f0(b["bytes_per_delivery"], " B"),
                     f"body alone {f0(b['body_bytes_per_delivery'], ' B')}",
                     f"{b['bytes_per_delivery'] / b['body_bytes_per_delivery']:.2f}×",
                     "(report)", ""))
    if "startup" in results:
        st = results["startup"]["median_s"]
        rows.append(("5", "headless `listen` to accepting", f"{st['listen']:.2f} s",
                     f"`import asyncio, aiohttp.web` {st['aiohttp_floor']:.2f} s",
                     f"{st['listen'] / st['aiohttp_floor']:.1f}×", "< 0.5 s",
                     ok(st["listen"] < 0.5)))
        rows.append(("5", "GUI to accepting", f"{st['gui']:.2f} s",
                     f"`import PySide6.QtWidgets` {st['qt_floor']:.2f} s",
                     f"{st['gui'] / st['qt_floor']:.1f}×", "< 1.5 s", ok(st["gui"] < 1.5)))
    for row in rows:
        add("| " + " | ".join(row) + " |")
    add("")

    if "throughput" in results:
        t = results["throughput"]
        add("## 1. Burst throughput\n")
        warmup = t.get("params", {}).get("warmup", 1.0)
        warm = f"after a {warmup:g} s warm-up" if warmup else "without a warm-up"
        add(f"wrk, one thread, 20 connections, {t['seconds']:g} s per run {warm}, "
            f"{t['rounds']} round{'s' if t['rounds'] != 1 else ''} with the order of the "
            f"servers rotated; bodies "
            f"are {t['bodies']:,} distinct realistic payloads (~40 fields, 3–8 KB) signed "
            "with HMAC-SHA1 (`bench/wrk_post.lua`). The app verifies, parses, commits "
            "(synchronous=FULL, group commit) and puts every delivery in the table model "
            "and notification folding before it answers.\n")
        add("| server | runs (deliveries/s) | median | non-2xx |")
        add("|---|---|---|---|")
        from bench.throughput import SERVERS
        for k, label in SERVERS.items():
            runs = t["runs"][k]
            add(f"| {label} | {', '.join(f0(x['rps']) for x in runs)} | "
                f"{f0(t['median_rps'][k])} | {sum(x['non_2xx'] for x in runs)} |")
        stored = [(x.get("stored"), x["requests"]) for x in t["runs"]["app"]]
        add(f"\nApp rows stored per run (incl. warm-up) vs requests counted by wrk in the "
            f"timed part: {', '.join(f'{a:,}/{b:,}' for a, b in stored)}.\n")
        if "bounds" in t:
            render_bounds(add, t)
    if "responsiveness" in results:
        r = results["responsiveness"]
        add("## 2. UI responsiveness during a burst\n")
        add(f"{r['count']:,} signed deliveries from two client processes at concurrency 20 "
            "(`bench/loadgen.py`) into the GUI host (`bench/gui_host.py`: the real "
            "AppController, offscreen). A `QTimer` (PreciseTimer, 10 ms) measures loop lag "
            "(interval minus 10 ms) from the first request to the last row in the model. "
            "Baseline: the same probe in the same app with no load, as long as a burst.\n")
        add("| run | rate (deliveries/s) | lag p50 | lag p99 | lag max | last reply → last row |"
            " idle p99 | idle max |")
        add("|---|---|---|---|---|---|---|---|")
        for i, (b, idle) in enumerate(zip(r["bursts"], r["idle"]), 1):
            add(f"| {i} | {f0(b['per_second'])} | {f1(b['p50_ms'])} ms | {f1(b['p99_ms'])} ms |"
                f" {f1(b['max_ms'])} ms | {f0(b['last_reply_to_last_row_ms'])} ms | "
                f"{f1(idle['p99_ms'])} ms | {f1(idle['max_ms'])} ms |")
        add("")
    if "latency" in results:
        l = results["latency"]
        add("## 3. Latency at a steady rate\n")
        add(f"{l['rate']:g} deliveries/s for {l['seconds']:g} s, open loop (request i at "
            f"start + i/rate), {l['rounds']} rounds; per request: sent → reply, and sent → its "
            "row inserted in the model (joined by record id; `time.monotonic` is one clock "
            "for all processes). Baseline: the same load on the bare aiohttp server.\n")
        add("| run | reply p50 | reply p99 | reply max | row p50 | row p99 | row max | bare reply p50 | bare reply p99 | fsync p50 | fsync p99 | fsync max |")
        add("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for i, (a, b) in enumerate(zip(l["app"], l["bare"]), 1):
            add(f"| {i} | {f1(a['reply']['p50_ms'])} | {f1(a['reply']['p99_ms'])} | "
                f"{f1(a['reply']['max_ms'])} | {f1(a['row']['p50_ms'])} | "
                f"{f1(a['row']['p99_ms'])} | {f1(a['row']['max_ms'])} | "
                f"{f1(b['reply']['p50_ms'])} | {f1(b['reply']['p99_ms'])} | "
                f"{f1(b['fsync']['p50_ms'])} | {f1(b['fsync']['p99_ms'])} | "
                f"{f1(b['fsync']['max_ms'])} |")
        add("\n(all in ms)\n")
    if "scale" in results:
        s = results["scale"]
        add("## 4. Scale of history\n")
        b, base = s["big"], s["base"]
        add(f"Stores generated by `bench/make_history.py` (the store's own schema, bulk "
            f"inserts; {b['generated']['seconds']:.0f} s for {b['count']:,} rows), reused "
            "while the schema version is unchanged. Cold start: the real program from spawn "
            "to its socket accepting (page cache warm). Filter: typing the needle and the "
            "filter applying, until the table is laid out and painted. Scroll: to the "
            "oldest delivery, as a user dragging the scroll bar to the bottom.\n")
        add("| rows | cold starts (s) | filter runs (ms) | scroll runs (ms) | peak RSS runs (MB) | disk | per delivery |")
        add("|---|---|---|---|---|---|---|")
        for x in (b, base):
            add(f"| {x['count']:,} | {', '.join(f'{v:.2f}' for v in x['cold_starts'])} | "
                f"{', '.join(f0(a['filter_ms']) for a in x['runs'])} | "
                f"{', '.join(f0(a['scroll_ms']) for a in x['runs'])} | "
                f"{', '.join(f0(a['peak_rss_mb']) for a in x['runs'])} | "
                f"{x['disk_bytes'] / 2**20:,.0f} MiB | {f0(x['bytes_per_delivery'])} B |")
        add(f"\nFilter for `{b['generated']['needle']}`: {b['filter_rows']:,} rows shown of "
            f"{b['needle_rows']:,} marked; scroll reached the oldest row: "
            f"{b['scroll_reached_end']} ({b['scroll_model_rows']:,} model rows).\n")
    if "startup" in results:
        st = results["startup"]
        add("## 5. Start-up\n")
        add(f"From spawn to the listening socket accepting a connection (polled every 2 ms), "
            f"fresh data folder each time, {st['rounds']} interleaved rounds after one untimed "
            f"round. The interpreter floors are timed to their exit.\n")
        add("| command | runs (s) | median |")
        add("|---|---|---|")
        from bench.startup import COMMANDS
        for k, cmd in COMMANDS.items():
            shown = " ".join(shlex.quote(a) for a in ["python", *cmd[1:]]).replace("{port}", "PORT")
            add(f"| `{shown}` | {', '.join(f'{v:.3f}' for v in st['runs'][k])} | "
                f"{st['median_s'][k]:.3f} |")
        add("")
    notes = common.BENCH / "optimisations.md"
    if notes.exists():
        add(notes.read_text().rstrip() + "\n")
    add("## Commands\n")
    add("```sh")
    add(command)
    add("```\n")
    add("Each benchmark also runs alone, e.g. `.venv/bin/python bench/throughput.py` (prints "
        "JSON). Needs `wrk` (Debian: `sudo apt-get install wrk`) and the `bench` extra "
        "(`pip install -e '.[bench]'`: Flask, psutil, py-spy). The smoke test "
        "`tests/bench/test_bench_smoke.py` runs all of them at tiny sizes.")
    return "\n".join(L) + "\n"


def read_results(p: argparse.ArgumentParser, path: Path) -> dict:
    """A run's raw results, or an error that says what is wrong with the file."""
    try:
        results = json.loads(path.read_text())
    except OSError as exc:
        p.error(f"cannot read {path}: {exc.strerror or exc}; give the results-*.json file "
                f"that a run wrote to {common.DATA}")
    except ValueError as exc:
        p.error(f"{path} is not a results file of bench/run_all.py (not JSON: {exc})")
    if not isinstance(results, dict) or not any(
            isinstance(results.get(n), dict) for n in NAMES):
        p.error(f"{path} is not a results file of bench/run_all.py (it holds none of the "
                f"figures {', '.join(NAMES)})")
    return results


def write_page(p: argparse.ArgumentParser, out: Path, text: str) -> None:
    try:
        out.write_text(text)
    except OSError as exc:
        p.error(f"cannot write {out}: {exc.strerror or exc}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description="Runs every benchmark and writes BENCHMARKS.md: each figure side by side "
                    "with its baseline (ratios, medians of several runs), the machine, the "
                    "versions and the exact commands.")
    p.add_argument("--tiny", action="store_true",
                   help="run each benchmark at a size that only proves it works (the smoke "
                        "test uses it); its figures mean nothing, so the page goes to "
                        "bench/.data/BENCHMARKS-tiny.md unless --out says otherwise")
    p.add_argument("--out", metavar="FILE",
                   help="where to write the page (default: BENCHMARKS.md at the top of the "
                        "checkout)")
    p.add_argument("--only", nargs="*", choices=NAMES, metavar="NAME",
                   help=f"run only these benchmarks ({', '.join(NAMES)})")
    p.add_argument("--render", metavar="RESULTS_JSON",
                   help="only write the page again from a run's raw results (e.g. after "
                        "editing bench/optimisations.md)")
    opts = p.parse_args(argv)
    out = Path(opts.out) if opts.out else (
        common.DATA / "BENCHMARKS-tiny.md" if opts.tiny else common.ROOT / "BENCHMARKS.md")
    if opts.render:
        results = read_results(p, Path(opts.render))
        try:
            page = render(results, results.get("command", "?"), results.get("tiny", False))
        except (KeyError, TypeError, ValueError) as exc:
            p.error(f"{opts.render} lacks part of a figure ({type(exc).__name__}: {exc}); "
                    f"render a results file written by this version of bench/run_all.py")
        write_page(p, out, page)
        print(f"wrote {out} from {opts.render}", file=sys.stderr)
        return 0
    common.DATA.mkdir(parents=True, exist_ok=True)
    if not out.parent.is_dir():
        p.error(f"cannot write {out}: the folder {out.parent} does not exist")
    names = opts.only or list(NAMES)
    load_before = os.getloadavg()
    results = run(names, opts.tiny)
    # Other work on a shared machine shows in every wall-clock figure: say how busy it was.
    results["load"] = {"before": load_before, "after": os.getloadavg()}
    common.DATA.mkdir(parents=True, exist_ok=True)
    command = ".venv/bin/python bench/run_all.py" + (" --tiny" if opts.tiny else "") + (
        " --only " + " ".join(names) if opts.only else "")
    results.update(command=command, tiny=opts.tiny, machine=common.machine(),
                   versions=common.versions(),
                   generated_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    raw = common.DATA / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    raw.write_text(json.dumps(results, indent=1))
    write_page(p, out, render(results, command, opts.tiny))
    print(f"wrote {out} (raw results: {raw})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
