"""Serving a task's live model over HTTP (issue 13), against a real server process on
loopback (`assay serve`, SQLite, the sample project labeled with its gold answers):

1. prediction latency: one text per request, sequential (p50/p99, target p50 <= 10 ms), and
   batches of 1,000 texts (texts/s, target >= 5,000);
2. hot swap under a steady, open-loop 200 requests/s from a second process, with 20
   promotions and rollbacks during the load, in pairs through the API and a Workbench in
   this process on the same database, alternating, then two pairs through the CLI (`assay
   models promote|rollback`, its own process; timed from its start to its exit): failed
   requests (target 0), the versions each answer names, latency p50/p99 (also while each
   kind of swap runs), and the swap delay (from a promotion's return to the first answer
   naming the new version);
3. learning again: the task's retrain_after set to N, N manual labels through the server's
   API, then the time from the N-th label to the new version existing (training included) and
   to its serving (target p95 <= 10 s); a version the promotion test keeps a candidate is
   forced live through the API, and the time is reported in parts.

Part 1 also makes the same calls in this process through a Workbench on the same database (no
HTTP): the server's own work, next to what a request costs.

    python benchmarks/bench_model_serving.py [--quick | --records N] [--swap-rate R]
        [--rows PATH]

--records: the texts sent in batches of 1,000 in part 1; --swap-rate: requests/s during the
hot swaps (default 200); --rows: keep every request of part 2 and the swaps as JSON. No peer:
the figures are compared with the issue's targets.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, size, start_server, timed

from assay import Settings, Workbench
from assay.services import samples

PROJECT, TASK = "bench", "clickbait"
HEADERS = {"X-Assay-Client": "bench_model_serving"}
BATCH = 1_000
BIG_EVERY, BIG_TEXTS = 40, 50  # during the hot swaps: one request in 40 carries 50 texts


@dataclass(frozen=True)
class Plan:
    """How much of each part to run: the full size, or a minute's worth for CI."""

    single: int  # sequential one-text requests
    rate: float  # requests per second during the hot swaps
    swaps: int  # promotions and rollbacks during the load
    spacing: float  # seconds between two of them
    retrain_after: int  # N: labels that queue a training
    rounds: int  # times the N labels are added


FULL = Plan(single=1_000, rate=200.0, swaps=20, spacing=2.0, retrain_after=50, rounds=10)
QUICK = Plan(single=100, rate=200.0, swaps=4, spacing=1.5, retrain_after=10, rounds=2)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def quantile(samples: list[float], q: float) -> float:
    """The q-quantile by the nearest rank (p99 of 1,000 samples: the 990th)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- the project and the server ------------------------------------------------------------


def prepare(data_dir: Path, keep_unlabeled: int) -> list[dict[str, Any]]:
    """The sample project with every gold label but ``keep_unlabeled`` records' (left for
    part 3), versions 1 (tfidf-logreg) and 2 (tfidf-nb) trained, version 1 live. Returns the
    gold answers of the records left unlabeled."""
    gold = samples.gold()
    labeled, kept = gold[: len(gold) - keep_unlabeled], gold[len(gold) - keep_unlabeled :]
    path = data_dir.parent / "labels.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "task", "label", "annotator"])
        for answer in labeled:
            writer.writerow([f"running_id={answer['running_id']}", TASK, answer[TASK], "gold"])
    wb = Workbench(Settings(data_dir=data_dir))
    try:
        wb.create_sample("clickbait", "initial", PROJECT)
        wb.update_model_settings(PROJECT, TASK, retrain_after=0)  # no training while labeling
        wb.annotate_file(PROJECT, path)
        for algorithm in ("tfidf-logreg", "tfidf-nb"):
            job = wb.train_model(PROJECT, TASK, algorithm=algorithm, wait=True)
            if job["status"] != "done":
                raise RuntimeError(f"training {algorithm} failed: {job['error']}")
        wb.promote_model(PROJECT, TASK, 1)
    finally:
        wb.close()
    return kept


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used, from /proc (Linux; NaN elsewhere):
    what a request costs the server whatever else shares the machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def task_url(url: str) -> str:
    return f"{url}/api/projects/{PROJECT}/tasks/{TASK}"


def predict(client: httpx.Client, url: str, texts: list[str]) -> dict[str, Any]:
    response = client.post(f"{task_url(url)}/predict", json={"texts": texts})
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


# --- part 1: latency and throughput --------------------------------------------------------


def latency(
    url: str, server: int, data_dir: Path, texts: list[str], plan: Plan, batched: int
) -> None:
    """Part 1, and the same calls made in this process through a Workbench on the same
    database (no HTTP): what the server's own work costs, next to what the request costs."""
    wb = Workbench(Settings(data_dir=data_dir))
    for text in texts[:50]:
        wb.predict(PROJECT, TASK, [text])
    local, cpu = [], time.process_time()
    for i in range(plan.single):
        start = time.perf_counter()
        wb.predict(PROJECT, TASK, [texts[i % len(texts)]])
        local.append(time.perf_counter() - start)
    local_cpu = (time.process_time() - cpu) / plan.single
    batch = [texts[i % len(texts)] for i in range(BATCH)]
    local_batch = statistics.median(
        timed(lambda: wb.predict(PROJECT, TASK, batch)) for _ in range(3)
    )
    wb.close()
    with httpx.Client(headers=HEADERS, timeout=60) as client:
        for text in texts[:50]:  # warm: the model loaded, connections open
            predict(client, url, [text])
        single = []
        cpu = cpu_seconds(server)
        for i in range(plan.single):
            start = time.perf_counter()
            predict(client, url, [texts[i % len(texts)]])
            single.append(time.perf_counter() - start)
        single_cpu = (cpu_seconds(server) - cpu) / plan.single
        batches = [
            [texts[(start + i) % len(texts)] for i in range(BATCH)]
            for start in range(0, batched, BATCH)
        ]
        start, cpu = time.perf_counter(), cpu_seconds(server)
        answered = sum(len(predict(client, url, batch)["predictions"]) for batch in batches)
        elapsed = time.perf_counter() - start
        batch_cpu = (cpu_seconds(server) - cpu) / len(batches)
    print(f"1. predict over HTTP ({len(single):,} sequential one-text requests)")
    print(
        f"   one text:  p50 {ms(statistics.median(single))}  p99 {ms(quantile(single, 0.99))}"
        f"  max {ms(max(single))}  (target p50 <= 10 ms); the server's CPU a request "
        f"{ms(single_cpu)}"
    )
    print(
        f"   batches of {BATCH:,}: {answered:,} texts in {elapsed:.2f} s, "
        f"{answered / elapsed:,.0f} texts/s, {ms(elapsed / len(batches))} a batch"
        f"  (target >= 5,000 texts/s); the server's CPU a batch {ms(batch_cpu)}"
    )
    print(
        f"   the same in this process, no HTTP (Workbench.predict): one text p50 "
        f"{ms(statistics.median(local))}  p99 {ms(quantile(local, 0.99))} (CPU "
        f"{ms(local_cpu)}); a batch of "
        f"{BATCH:,} {ms(local_batch)} ({BATCH / local_batch:,.0f} texts/s)"
    )


# --- part 2: hot swap under load -------------------------------------------------------------


def load_generator(url: str, rate: float, seconds: float, out: Path, texts: list[str]) -> None:
    """Open-loop load (runs in its own process): request i is due at start + i / rate, sent
    by a pool of threads whatever the answers before it took; one text each, every
    :data:`BIG_EVERY`-th :data:`BIG_TEXTS` (a swap may fall inside it). Latency counts from
    the due time. Writes one row per request to ``out`` (JSON): due, sent, done (monotonic
    clock, shared by the processes of this machine), status, the versions named, error.
    Stops after ``seconds``, or when the file ``out`` with the suffix .stop appears."""
    rows: list[dict[str, Any]] = []
    lock = threading.Lock()
    client = httpx.Client(headers=HEADERS, timeout=10, limits=httpx.Limits(max_connections=64))

    def one(i: int, due: float) -> None:
        count = BIG_TEXTS if i % BIG_EVERY == 0 else 1
        batch = [texts[(i * 7 + j) % len(texts)] for j in range(count)]
        row: dict[str, Any] = {"due": due, "sent": time.monotonic(), "texts": count}
        try:
            response = client.post(f"{task_url(url)}/predict", json={"texts": batch})
            row["status"] = response.status_code
            if response.status_code == 200:
                body = response.json()
                row["version"] = body["model_version"]
                row["versions"] = sorted({p["model_version"] for p in body["predictions"]})
                row["answered"] = len(body["predictions"])
            else:
                row["error"] = response.text[:300]
        except httpx.HTTPError as exc:
            row["status"] = None
            row["error"] = f"{type(exc).__name__}: {exc}"
        row["done"] = time.monotonic()
        with lock:
            rows.append(row)

    stop = out.with_suffix(".stop")
    with ThreadPoolExecutor(max_workers=64) as pool:
        start = time.monotonic()
        out.with_suffix(".started").write_text(str(start))
        for i in range(int(seconds * rate)):
            due = start + i / rate
            if i % 20 == 0 and stop.exists():
                break
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            pool.submit(one, i, due)
    client.close()
    out.write_text(json.dumps(rows))


VIAS = ("api", "workbench", "cli")


def via_of(i: int, count: int) -> str:
    """Through what the i-th of ``count`` swaps goes: in pairs (promote, roll back), the API
    and a Workbench alternating, the last two pairs through the CLI (when there are 10 swaps
    or more: a CLI process takes seconds of CPU of its own, so it comes last, apart)."""
    pair = i // 2
    if count >= 10 and pair >= count // 2 - 2:
        return "cli"
    return "api" if pair % 2 == 0 else "workbench"


def swap(
    via: str, action: str, client: httpx.Client, url: str, wb: Workbench, data_dir: Path
) -> int:
    """Promote version 2 or roll back, through ``via``; the version made live."""
    if via == "api":
        path = "models/2/promote" if action == "promote" else "models/rollback"
        response = client.post(f"{task_url(url)}/{path}")
        response.raise_for_status()
        return int(response.json()["version"])
    if via == "workbench":
        done = (
            wb.promote_model(PROJECT, TASK, 2)
            if action == "promote"
            else wb.rollback_model(PROJECT, TASK)
        )
        return done["version"]
    command = [
        sys.executable,
        "-m",
        "assay",
        "models",
        action,
        "--project",
        PROJECT,
        "--task",
        TASK,
    ]
    command += ["--version", "2"] if action == "promote" else []
    env = {**os.environ, "ASSAY_DATA_DIR": str(data_dir)}
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return int(json.loads(output)["version"])


@dataclass
class Swap:
    """One promotion or rollback: through which door, the version it made live, when."""

    via: str
    action: str
    version: int
    called: float
    returned: float


def swaps(
    url: str,
    server: int,
    data_dir: Path,
    plan: Plan,
    folder: Path,
    texts: list[str],
    keep: Path | None,
) -> None:
    """Part 2: the load from a second process; promotions and rollbacks from this one, in
    pairs through the API, a Workbench on the same database and the CLI (its own process);
    ``keep``: where to write every request's row and the swaps (JSON), to look closer."""
    out = folder / "load.json"
    (folder / "texts.json").write_text(json.dumps(texts))
    generator = subprocess.Popen(
        [sys.executable, __file__, "--load", url, "--rate", str(plan.rate),
         "--seconds", "600", "--out", str(out), "--texts", str(folder / "texts.json")],
    )  # fmt: skip
    started, cpu = out.with_suffix(".started"), cpu_seconds(server)
    while not started.exists():
        if generator.poll() is not None:
            raise RuntimeError("the load generator ended before it started")
        time.sleep(0.05)
    time.sleep(2.0)
    events = []
    wb = Workbench(Settings(data_dir=data_dir))  # another process on the same database
    with httpx.Client(headers=HEADERS, timeout=30) as client:
        for i in range(plan.swaps):
            via = via_of(i, plan.swaps)
            action = "promote" if i % 2 == 0 else "rollback"
            called = time.monotonic()
            version = swap(via, action, client, url, wb, data_dir)
            returned = time.monotonic()
            events.append(Swap(via, action, version, called, returned))
            # The next no sooner than the spacing after this call, and 1.5 s after its return
            # (a CLI call lasts longer than the spacing; the server needs time to notice it).
            time.sleep(max(called + plan.spacing - returned, 1.5))
    wb.close()
    time.sleep(3.0)
    out.with_suffix(".stop").touch()
    if generator.wait() != 0:
        raise RuntimeError("the load generator failed")
    busy = (cpu_seconds(server) - cpu) / (time.monotonic() - float(started.read_text()))
    rows = json.loads(out.read_text())
    if keep is not None:
        keep.write_text(json.dumps({"rows": rows, "swaps": [asdict(e) for e in events]}))
    report_swaps(rows, events, plan)
    print(f"   the server's CPU during the load: {busy:.0%} of a core")


def report_swaps(rows: list[dict[str, Any]], events: list[Swap], plan: Plan) -> None:
    """Failures, latency, and per swap: its delay (from its return to the first answer that
    names the new version, among requests sent after it was called and answered before the
    next one was) and any answer by another version after that first one."""
    failed = [row for row in rows if row["status"] != 200]
    mixed = [row for row in rows if row["status"] == 200 and len(row["versions"]) != 1]
    short = [row for row in rows if row["status"] == 200 and row["answered"] != row["texts"]]
    span = max(row["done"] for row in rows) - min(row["due"] for row in rows)
    during = [
        row["done"] - row["due"]
        for row in rows
        if row["status"] == 200 and events[0].called <= row["due"] <= events[-1].returned + 2
    ]
    lag = [row["sent"] - row["due"] for row in rows]
    delays, regressions, missed = [], 0, 0
    for i, event in enumerate(events):
        end = events[i + 1].called if i + 1 < len(events) else float("inf")
        window = [
            row
            for row in rows
            if "version" in row and row["sent"] >= event.called and row["done"] < end
        ]
        named = [row for row in window if row["version"] == event.version]
        if not named:
            missed += 1
            continue
        first = min(row["done"] for row in named)
        delays.append(max(0.0, first - event.returned))
        regressions += sum(
            1 for row in window if row["sent"] > first and row["version"] != event.version
        )
    calls: dict[str, list[float]] = {via: [] for via in VIAS}
    meanwhile: dict[str, list[float]] = {via: [] for via in VIAS}
    for i, event in enumerate(events):
        calls[event.via].append(event.returned - event.called)
        end = events[i + 1].called if i + 1 < len(events) else event.returned + 2
        meanwhile[event.via] += [
            row["done"] - row["due"]
            for row in rows
            if row["status"] == 200 and event.called <= row["due"] < end
        ]
    print(
        f"2. hot swap: {len(rows):,} requests due at {plan.rate:,.0f}/s (open loop; 1 text "
        f"each, every {BIG_EVERY}th {BIG_TEXTS}) from a second process, answered within "
        f"{span:.1f} s ({len(rows) / span:,.0f}/s); {len(events)} promotions and rollbacks "
        f"(in pairs, through: {', '.join(dict.fromkeys(event.via for event in events))})"
    )
    print(
        f"   failed requests: {len(failed)} (non-200 or errors; target 0); answers naming more "
        f"than one version: {len(mixed)}; answers missing texts: {len(short)}"
    )
    for row in failed[:5]:
        print(f"     {row['status']}: {row.get('error')}")
    print(
        f"   latency during the swaps (from the due time): p50 {ms(statistics.median(during))}"
        f"  p99 {ms(quantile(during, 0.99))}  max {ms(max(during))}  ({len(during):,} requests;"
        f" sent late by the generator: p99 {ms(quantile(lag, 0.99))})"
    )
    if delays:
        print(
            f"   swap delay (promotion returned -> first answer naming the new version): "
            f"p50 {ms(statistics.median(delays))}  max {ms(max(delays))}; {missed} not seen "
            f"before the next swap; {regressions} answers by another version after the first"
        )
    for via, durations in calls.items():
        if durations:
            latency = meanwhile[via]
            print(
                f"   through the {via}: a promotion or rollback p50 "
                f"{ms(statistics.median(durations))}  max {ms(max(durations))}; the requests "
                f"due meanwhile p50 {ms(statistics.median(latency))}  p99 "
                f"{ms(quantile(latency, 0.99))}"
            )


# --- part 3: learning again ------------------------------------------------------------------


@dataclass
class Round:
    """One round of part 3, in seconds from the N-th label: the new version in the registry,
    its answers; ``forced``: from the forced promotion to its answers (None: the promotion
    test made it live); the training job's own time; the decision's reason."""

    exist: float
    serve: float
    forced: float | None
    training: float
    reason: str


def learning(
    url: str, data_dir: Path, plan: Plan, kept: list[dict[str, Any]], texts: list[str]
) -> None:
    """Part 3: N labels through the API queue a training in the server; poll until the new
    version exists and until the answers name it (forcing it live where the promotion test
    kept it a candidate)."""
    wb = Workbench(Settings(data_dir=data_dir))
    wb.update_model_settings(PROJECT, TASK, retrain_after=plan.retrain_after)
    n = plan.retrain_after
    with httpx.Client(headers=HEADERS, timeout=30) as client:
        rounds = [
            one_round(wb, client, url, kept[i * n : (i + 1) * n], texts[0])
            for i in range(plan.rounds)
        ]
    wb.close()
    report_learning(rounds, plan)


def one_round(
    wb: Workbench, client: httpx.Client, url: str, answers: list[dict[str, Any]], text: str
) -> Round:
    """Label ``answers`` through the API; then predict every 20 ms until the next version
    answers, watching the registry from this process's Workbench meanwhile."""
    version = max(v["version"] for v in wb.list_models(PROJECT, TASK)) + 1
    for answer in answers:
        response = client.post(
            f"{url}/api/projects/{PROJECT}/records/running_id={answer['running_id']}/annotations",
            json={"task": TASK, "label": answer[TASK], "annotator": "bench"},
        )
        response.raise_for_status()
    labeled = time.monotonic()
    existed = promoted = None
    while predict(client, url, [text])["model_version"] != version:
        if time.monotonic() - labeled > 120:
            raise RuntimeError(f"version {version} did not serve within 120 s")
        if existed is None and any(v["version"] == version for v in wb.list_models(PROJECT, TASK)):
            existed = time.monotonic()
            if wb.get_model(PROJECT, TASK, version)["status"] != "live":  # kept a candidate
                client.post(f"{task_url(url)}/models/{version}/promote").raise_for_status()
                promoted = time.monotonic()
        time.sleep(0.02)
    served = time.monotonic()
    row = wb.get_model(PROJECT, TASK, version)
    return Round(
        exist=(existed or served) - labeled,
        serve=served - labeled,
        forced=None if promoted is None else served - promoted,
        training=row["training"]["seconds"],
        reason=row["decision"]["reason"] if row["decision"] else "no decision",
    )


def report_learning(rounds: list[Round], plan: Plan) -> None:
    exist = [r.exist for r in rounds]
    serve = [r.serve for r in rounds]
    forced = [r.forced for r in rounds if r.forced is not None]
    training = statistics.median(r.training for r in rounds)
    reasons = [r.reason for r in rounds]
    n = plan.retrain_after
    print(
        f"3. learning again ({plan.rounds} rounds: retrain_after {n}, {n} labels through the "
        "API, the training queued by the server)"
    )
    print(
        f"   N-th label -> new version in the registry (training included): "
        f"p50 {statistics.median(exist):.2f} s  p95 {quantile(exist, 0.95):.2f} s; the "
        f"training job's own time p50 {training:.2f} s (before it: the retrain check runs "
        "a second after the first label, off the request path)"
    )
    print(
        f"   N-th label -> answers name it: p50 {statistics.median(serve):.2f} s  "
        f"p95 {quantile(serve, 0.95):.2f} s  (target p95 <= 10 s; {len(rounds) - len(forced)}"
        f" promoted by the test, {len(forced)} kept candidates and forced live through the API)"
    )
    if forced:
        print(
            f"   forced promotion -> answers name it: p50 {ms(statistics.median(forced))}  "
            f"max {ms(max(forced))}"
        )
    for reason in sorted(set(reasons)):
        print(f"   decision ({reasons.count(reason)}x): {reason}")


def main() -> None:
    arguments = parser(__doc__ or "", full=100_000, quick=10_000)
    arguments.add_argument(
        "--swap-rate", type=float, help="requests/s during the hot swaps (default 200)"
    )
    arguments.add_argument(
        "--rows", type=Path, help="write the hot swap's requests and swaps here (JSON)"
    )
    hidden = argparse.SUPPRESS  # the load generator's own process
    arguments.add_argument("--load", help=hidden)
    arguments.add_argument("--rate", type=float, help=hidden)
    arguments.add_argument("--seconds", type=float, help=hidden)
    arguments.add_argument("--out", type=Path, help=hidden)
    arguments.add_argument("--texts", type=Path, help=hidden)
    args = arguments.parse_args()
    if args.load:
        texts = json.loads(args.texts.read_text())
        load_generator(args.load, args.rate, args.seconds, args.out, texts)
        return
    plan = QUICK if args.quick else FULL
    if args.swap_rate:
        plan = replace(plan, rate=args.swap_rate)
    texts = [row["headline"] for row in samples.data()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data_dir = folder / "assay"
        start = time.perf_counter()
        kept = prepare(data_dir, plan.retrain_after * plan.rounds)
        print(
            f"model serving, the sample project ({len(texts):,} headlines, "
            f"{len(texts) - len(kept):,} labeled; versions 1 tfidf-logreg, 2 tfidf-nb), SQLite, "
            f"`assay serve` on loopback; set up in {time.perf_counter() - start:.1f} s"
        )
        server, url = start_server(data_dir, folder / "server.log")
        try:
            parts: tuple[Callable[[], None], ...] = (
                lambda: latency(url, server.pid, data_dir, texts, plan, size(args)),
                lambda: swaps(url, server.pid, data_dir, plan, folder, texts, args.rows),
                lambda: learning(url, data_dir, plan, kept, texts),
            )
            for part in parts:
                part()
                print(f"   (load average over the last minute: {os.getloadavg()[0]:.1f})")
        except BaseException:
            print((folder / "server.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
