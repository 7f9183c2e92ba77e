"""The process side of the sandbox (``assay.runtime.sandbox`` is the server side).

This file runs as a script, ``python -I sandbox_worker.py CONTROL_FD``, started by the server
with a clean environment, so it imports nothing of assay: the standard library and spaCy only.
That process is the *zygote*: it stays root, imports spaCy once, never sees records or user
code, and forks one worker per run when the server asks over the control socket. A forked
worker then

1. puts the run's pipes in place (0: /dev/null, 1 and 2: the stderr pipe, 3: messages from
   the server, 4: messages to the server) and closes every other descriptor;
2. reads the run's header, and while still root loads the language's vocabulary, gives
   itself a filesystem of its own (``_own_filesystem``: a private mount namespace whose root
   holds the system's programs and libraries and the Python installation read-only, a
   minimal /etc and /dev, its own /proc, /tmp, /dev/shm and working directory, nothing
   else), sets the resource limits, cuts the network (a new, empty network namespace), sets
   no_new_privs and drops to the run's uid and gid with no supplementary groups, for good;
3. only then compiles and runs the user's code (one or several functions, each in a namespace
   of its own), record by record, and answers each batch.

The zygote reaps its workers (and, as child subreaper, whatever they forked): when a worker
ends it kills the worker's process group and every process of the run's uid, then writes the
exit status to the run's status pipe. Messages are JSON lines both ways.
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import fcntl
import importlib
import json
import linecache
import os
import resource
import select
import signal
import socket
import sys
import traceback
import types
from array import array
from base64 import b64decode
from collections.abc import Callable
from typing import Any, BinaryIO, NoReturn

import spacy
from spacy.tokens import Doc

FILENAME = "<code>"  # the user's code in tracebacks
_MIB = 1024 * 1024
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
_CLONE_NEWNET = 0x40000000
_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MNT_DETACH = 2
WORKDIR = "/workdir"  # the run's working directory, as the code sees it
# The system's programs and libraries, for the dynamic loader and subprocesses: folders
# are bound read-only, links (a merged /usr) made again.
_SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
# /etc holds only what the loader and the time functions read; with the network, also what
# name lookups and TLS read.
_ETC = ("ld.so.cache", "localtime")
_ETC_NETWORK = ("resolv.conf", "hosts", "nsswitch.conf", "host.conf", "gai.conf", "ssl")
_DEVICES = ("null", "zero", "random", "urandom")
_DEV_LINKS = {
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
}
# Audit events that start a process: a BlockingIOError after one of them is RLIMIT_NPROC.
_SPAWN_EVENTS = frozenset(
    {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "subprocess.Popen"}
)
# Written when memory may be too short to build a message.
_FATAL_MEMORY = b'{"fatal": "memory"}\n'
_FATAL_PROCESSES = b'{"fatal": "processes"}\n'

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong]
_libc.mount.argtypes += [ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.pivot_root.argtypes = [ctypes.c_char_p, ctypes.c_char_p]


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


# ---------------------------------------------------------------------------------- zygote


class _Child:
    def __init__(self, uid: int, status: int) -> None:
        self.uid = uid
        self.status = status


def main() -> None:
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    _check(_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl")
    pipelines: dict[str, Any] = {}
    children: dict[str, tuple[int, _Child]] = {}  # run id -> (pid, child)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        readable, _, _ = select.select([ctrl.fileno(), wake_r], [], [])
        if wake_r in readable:
            _drain(wake_r)
            _reap(children)
        if ctrl.fileno() not in readable:
            continue
        message, fds, _, _ = socket.recv_fds(ctrl, 1 << 16, 4)
        if not message:
            break  # the server is gone
        request = json.loads(message)
        if "kill" in request:
            found = children.get(request["kill"])
            if found is not None:
                # The worker itself first: until it has called setsid its group is ours,
                # and killpg alone would miss it. Its own children go with the sweep.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(found[0], signal.SIGKILL)
                _killpg(found[0])
            continue
        if request["language"] not in pipelines:
            # A language spaCy refuses: the worker tries again and reports why.
            with contextlib.suppress(Exception):
                pipelines[request["language"]] = spacy.blank(request["language"])
        _sweep(request["uid"])  # what a server that died may have left under this uid
        try:
            pid = os.fork()
        except OSError as exc:
            _report(fds[3], {"error": f"cannot start a worker: {exc}"})
            for fd in fds:
                os.close(fd)
            continue
        if pid == 0:
            _worker(request, fds, pipelines)
        for fd in fds[:3]:
            os.close(fd)
        children[request["run"]] = (pid, _Child(request["uid"], fds[3]))
    for pid, child in children.values():
        _killpg(pid)
        _sweep(child.uid)
    os._exit(0)  # no interpreter teardown of spaCy's modules: it takes a second


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 512):
            pass


def _report(fd: int, status: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the server stopped listening
        os.write(fd, json.dumps(status).encode() + b"\n")
    os.close(fd)


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _reap(children: dict[str, tuple[int, _Child]]) -> None:
    """Collect ended processes; for a worker, first end everything it left (while its pid,
    a zombie, is still reserved, so no other process group can have that id)."""
    runs = {pid: run for run, (pid, _) in children.items()}
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None:
            return
        pid = info.si_pid
        run = runs.pop(pid, None)
        if run is None:
            os.waitpid(pid, 0)  # something a worker forked, orphaned to us
            continue
        _, child = children.pop(run)
        _killpg(pid)
        _sweep(child.uid)
        _, status, usage = os.wait4(pid, 0)
        cpu = usage.ru_utime + usage.ru_stime
        _report(child.status, {"status": status, "cpu": cpu, "rss_kb": usage.ru_maxrss})


def _sweep(uid: int) -> None:
    """SIGKILL every process of ``uid``: kill(-1) from a process of that uid reaches exactly
    those, including any that left the worker's process group."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setresuid(uid, uid, uid)
            for _ in range(3):
                os.kill(-1, signal.SIGKILL)
        except OSError:
            pass  # ESRCH: none left
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


# ---------------------------------------------------------------------------------- worker


def _worker(request: dict[str, Any], fds: list[int], pipelines: dict[str, Any]) -> NoReturn:
    code = 0
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        # Above the targets first, so that no dup2 below overwrites a source still needed.
        reads, writes, errors = (fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds[:3])
        for target, source in ((0, devnull), (1, errors), (2, errors), (3, reads), (4, writes)):
            os.dup2(source, target, inheritable=target < 3)
        os.closerange(5, os.sysconf("SC_OPEN_MAX"))
        os.setsid()
        with os.fdopen(3, "rb") as incoming, os.fdopen(4, "wb") as outgoing:
            _Session(incoming, outgoing, request, pipelines).serve()
    except MemoryError:
        os.write(4, _FATAL_MEMORY)
        code = 3
    except BaseException:  # noqa: BLE001 -- whatever happens, never return into the zygote
        traceback.print_exc()  # to the stderr pipe: the server shows its end
        code = 2
    finally:
        os._exit(code)


class _Output:
    """``print`` output of one record, kept up to a number of characters."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.size = 0
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self.size < self.cap:
            self.parts.append(text[: self.cap - self.size])
        self.size += len(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def take(self) -> str:
        if not self.size:
            return ""
        text = "".join(self.parts)
        if self.size > self.cap:
            text += f"\n[{self.size - self.cap} more characters of output not kept]"
        self.parts.clear()
        self.size = 0
        return text


class _Session:
    """One run inside a forked worker: confine, load the code, answer batches."""

    def __init__(
        self,
        incoming: BinaryIO,
        outgoing: BinaryIO,
        request: dict[str, Any],
        pipelines: dict[str, Any],
    ) -> None:
        self.incoming = incoming
        self.outgoing = outgoing
        self.request = request
        self.pipelines = pipelines
        self.pid = os.getpid()
        self.spawned = False
        self.output = _Output(0)
        self.vocab: Any = None

    def send(self, message: dict[str, Any]) -> None:
        self.outgoing.write(json.dumps(message).encode() + b"\n")
        self.outgoing.flush()

    def receive(self) -> dict[str, Any] | None:
        line = self.incoming.readline()
        return json.loads(line) if line else None

    def serve(self) -> None:
        header = self.receive()
        if header is None:
            return
        try:
            language = self.request["language"]
            self.vocab = (self.pipelines.get(language) or spacy.blank(language)).vocab
            self.confine(header["limits"])
        except Exception as exc:  # noqa: BLE001 -- reported as the run's error
            self.send({"setup_error": f"{type(exc).__name__}: {exc}"})
            return
        self.send({"started": True})
        if "learner" in header:
            self.learn(header)
            return
        codes: list[str] = header["codes"]
        functions, loaded = [], []
        for index, code in enumerate(codes):
            filename = FILENAME if len(codes) == 1 else f"<code {index}>"
            function, problem = self.load(code, filename, header)
            functions.append(function)
            loaded.append(problem)
        self.send({"loaded": loaded})
        while (message := self.receive()) is not None and "records" in message:
            self.batch(functions, message["records"])
        self.send({"done": True})

    def confine(self, limits: dict[str, Any]) -> None:
        """A filesystem of its own, limits, no network, no new privileges, then the run's
        uid: the last root step."""
        uid, gid = self.request["uid"], self.request["gid"]
        try:
            _own_filesystem(self.request["root"], self.request["workdir"], limits)
        except OSError as exc:
            raise RuntimeError(
                f"cannot give the code a filesystem of its own, so nothing ran ({exc})"
            ) from None
        os.chdir(WORKDIR)
        os.environ.update(HOME=WORKDIR, TMPDIR="/tmp")
        os.umask(0o077)
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu = round(used.ru_utime + used.ru_stime) + limits["cpu_s"]
        memory = _vm_bytes() + limits["memory_mb"] * _MIB
        files = limits["file_mb"] * _MIB
        for kind, soft, hard in (
            (resource.RLIMIT_CPU, cpu, cpu + 1),  # SIGXCPU, then SIGKILL a second later
            (resource.RLIMIT_AS, memory, memory),
            (resource.RLIMIT_NPROC, limits["processes"], limits["processes"]),
            (resource.RLIMIT_FSIZE, files, files),
            (resource.RLIMIT_NOFILE, limits["open_files"], limits["open_files"]),
            (resource.RLIMIT_CORE, 0, 0),
        ):
            resource.setrlimit(kind, (soft, hard))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, EFBIG
        if not limits["network"]:
            _check(_libc.unshare(_CLONE_NEWNET), "cannot cut the network: unshare")
        _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
            raise RuntimeError("the worker did not drop its privileges")
        self.output = _Output(limits["output_chars"])
        sys.stdout = sys.stderr = self.output
        sys.addaudithook(self.audit)

    def audit(self, event: str, _args: tuple[Any, ...]) -> None:
        if event in _SPAWN_EVENTS:
            self.spawned = True

    def load(
        self, code: str, filename: str, header: dict[str, Any]
    ) -> tuple[Callable[..., Any] | None, dict[str, Any] | None]:
        """The function to run, or None and why there is none."""
        knowledge = types.ModuleType("knowledge", "The project's lookup lists.")
        for name, terms in header["knowledge"].items():
            setattr(knowledge, name, list(terms))
        sys.modules["knowledge"] = knowledge  # afresh for each code: none sees another's changes
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        try:
            compiled = compile(code, filename, "exec")
        except SyntaxError as exc:
            text = (exc.text or "").rstrip("\n")
            error = {"message": exc.msg, "line": exc.lineno, "offset": exc.offset, "text": text}
            return None, {"syntax_error": error}
        namespace: dict[str, Any] = {"__name__": "user_code", "__builtins__": builtins}
        _, failure = self.call(exec, compiled, namespace)
        if failure is not None:
            return None, {"load_failure": [*failure, self.output.take()]}
        wanted = header["function"]
        what = "class" if "learner" in header else "function"
        if wanted is not None:
            if not callable(namespace.get(wanted)):
                return None, {"invalid_code": f"the code defines no {what} named {wanted!r}"}
            named: Callable[..., Any] = namespace[wanted]
            return named, None
        defined: list[Any]
        if what == "class":  # defined here, not imported
            defined = [
                value
                for value in namespace.values()
                if isinstance(value, type) and value.__module__ == "user_code"
            ]
        else:
            defined = [
                value
                for value in namespace.values()
                if isinstance(value, types.FunctionType) and value.__code__.co_filename == filename
            ]
        if len(defined) != 1:
            message = f"the code must define one top-level {what}"
            if defined:
                names = ", ".join(function.__name__ for function in defined)
                message += f"; it defines {len(defined)} ({names}): name the one to run"
            return None, {"invalid_code": message}
        return defined[0], None

    def call(self, function: Callable[..., Any], *args: Any) -> tuple[Any, tuple[str, str] | None]:
        """Run user code: its value, and (summary, traceback) when it raised.

        A process the code forked leaves here, whatever happened; the memory or process
        limit ends the run at once."""
        value: Any = None
        failure: tuple[str, str] | None = None
        self.spawned = False
        try:
            value = function(*args)
            if isinstance(value, types.GeneratorType):
                value = list(value)
        except MemoryError:
            if os.getpid() == self.pid:
                os.write(4, _FATAL_MEMORY)
            os._exit(3)
        except BaseException as exc:  # noqa: BLE001 -- user code may raise anything
            if os.getpid() == self.pid:
                if self.spawned and isinstance(exc, BlockingIOError):
                    os.write(4, _FATAL_PROCESSES)
                    os._exit(4)
                # Leave out this frame: the traceback starts in the user's code.
                user_frames = exc.__traceback__.tb_next if exc.__traceback__ else None
                lines = traceback.format_exception(exc.__class__, exc, user_frames)
                summary = traceback.format_exception_only(exc.__class__, exc)[-1].strip()
                failure = (summary, "".join(lines))
        if os.getpid() != self.pid:
            os._exit(0)
        return value, failure

    def learn(self, header: dict[str, Any]) -> None:
        """An active learner's run: the code's class fitted on the training examples and
        asked for every row's probabilities, with cross-fitting (the server's folds) so that
        the answer for a training example comes from a model fitted without it.

        The inputs are .npy files in the working directory (``LEARNER_FILES``); the answer
        is the best class and its probability per row, in messages of ``chunk`` rows."""
        learner, problem = self.load(header["codes"][0], FILENAME, header)
        self.send({"loaded": [problem]})
        if learner is None:
            return
        import numpy as np  # spaCy's own dependency: no import of the code's making

        spec = header["learner"]
        matrix = np.load("embeddings.npy", mmap_mode="r", allow_pickle=False)
        rows = np.load("train_rows.npy", allow_pickle=False)
        labels = np.load("train_labels.npy", allow_pickle=False)
        folds = np.load("train_folds.npy", allow_pickle=False)
        n = len(matrix)
        best = np.full(n, -1, dtype=np.int64)
        probability = np.zeros(n, dtype=np.float64)
        classes: list[str] = []
        found: dict[str, Any] = {}

        def fit(chosen: Any) -> Any:
            """A new instance of the class fitted on these training examples (None: it
            raised, the failure is in ``found``)."""
            instance, failure = self.call(learner)
            if failure is None:
                features = np.asarray(matrix[np.sort(rows[chosen])], dtype=np.float32)
                order = np.argsort(rows[chosen], kind="stable")
                _, failure = self.call(instance.fit, features, labels[chosen][order])
            if failure is not None:
                found["failure"] = failure
                return None
            found.setdefault("instance", instance)
            return instance

        def predict(instance: Any, targets: Any, fitted_on: Any) -> bool:
            """Best class and probability of the target rows (ascending) by ``instance``."""
            known = getattr(instance, "classes_", None)
            if known is None:
                known = np.unique(labels[fitted_on])
            names = [str(name) for name in known]
            index = np.array([_class_index(classes, name) for name in names], dtype=np.int64)
            for start in range(0, len(targets), spec["chunk"]):
                part = targets[start : start + spec["chunk"]]
                features = np.asarray(matrix[part], dtype=np.float32)
                value, failure = self.call(instance.predict_proba, features)
                if failure is None:
                    value, failure = _probabilities(value, len(part), names)
                if failure is not None:
                    found["failure"] = failure
                    return False
                top = np.argmax(value, axis=1)
                best[part] = index[top]
                probability[part] = value[np.arange(len(part)), top]
            return True

        everything = np.ones(len(rows), dtype=bool)
        whole = fit(everything)
        done = whole is not None and predict(whole, np.arange(n), everything)
        unheld = rows[folds == -1]  # never a vote from a model that saw the example
        best[unheld], probability[unheld] = -1, 0.0
        for fold in sorted(set(folds.tolist()) - {-1}) if done else []:
            held_out = folds == fold
            targets = np.sort(rows[held_out])
            best[targets], probability[targets] = -1, 0.0  # no model left them out, yet
            if len(np.unique(labels[~held_out])) < 2:
                continue
            model = fit(~held_out)
            if model is None or not predict(model, targets, ~held_out):
                done = False
                break
        if not done:
            summary, trace = found["failure"]
            self.send({"learn_failure": [summary, trace, self.output.take()]})
            return
        instance = found["instance"]
        voting = getattr(instance, "labels", None)
        self.send(
            {
                "learned": {
                    "classes": classes,
                    "min_confidence": _number(getattr(instance, "min_confidence", 0.0)),
                    "labels": None if voting is None else [str(label) for label in voting],
                    "rows": n,
                    "output": self.output.take(),
                }
            }
        )
        for start in range(0, n, spec["chunk"]):
            part = slice(start, start + spec["chunk"])
            message = {"best": best[part].tolist(), "probability": probability[part].tolist()}
            self.outgoing.write(_dumps(message).encode() + b"\n")
        self.send({"done": True})

    def batch(self, functions: list[Callable[..., Any] | None], records: list[list[Any]]) -> None:
        """Each loaded function on each record (a record's Docs built once for all of them):
        values by record and function; printed output and failures only where there are."""
        values: list[list[Any]] = []
        outputs: list[list[Any]] = []
        failures: list[list[Any]] = []
        vocab = self.vocab
        for index, (data, tokens) in enumerate(records):
            for attribute, blob in tokens.items():
                text = data.get(attribute)
                if isinstance(text, str):
                    data[attribute] = _doc(vocab, text, blob)
            row: list[Any] = []
            for number, function in enumerate(functions):
                if function is None:
                    row.append(None)
                    continue
                # A copy each: a function that changes its record changes no other's.
                value, failure = self.call(function, dict(data) if len(functions) > 1 else data)
                if failure is not None:
                    failures.append([index, number, *failure])
                row.append(value)
                if printed := self.output.take():
                    outputs.append([index, number, printed])
            values.append(row)
        message = {"values": values, "outputs": outputs, "failures": failures}
        try:
            encoded = _dumps(message)
        except (TypeError, ValueError, RecursionError):
            for index, row in enumerate(values):  # find the values that are not JSON
                for number, value in enumerate(row):
                    try:
                        _dumps(value)
                    except (TypeError, ValueError, RecursionError) as exc:
                        row[number] = None
                        error = f"the value returned is not JSON ({exc})"
                        failures.append([index, number, error, ""])
            failures.sort(key=lambda failure: (int(failure[0]), int(failure[1])))
            encoded = _dumps(message)
        self.outgoing.write(encoded.encode() + b"\n")
        self.outgoing.flush()


def _probabilities(value: Any, rows: int, names: list[str]) -> tuple[Any, Any]:
    """``predict_proba``'s answer as a float array (rows x classes) of probabilities, or
    why it is not one."""
    import numpy as np

    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return None, (f"ValueError: predict_proba returned no array of numbers ({exc})", "")
    if array.shape != (rows, len(names)):
        return None, (
            f"ValueError: predict_proba returned an array of shape {array.shape} for {rows} "
            f"rows and {len(names)} classes ({', '.join(names)})",
            "",
        )
    if not np.all((array >= 0) & (array <= 1)):  # NaN fails both
        return None, ("ValueError: predict_proba returned values outside 0..1", "")
    return array, None


def _class_index(classes: list[str], name: str) -> int:
    """The index of a class in the run's list of classes (every model's, in order seen)."""
    if name not in classes:
        classes.append(name)
    return classes.index(name)


def _number(value: Any) -> Any:
    """A number as JSON takes it; anything else as its text (the server rejects it)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return repr(value)[:200]


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _doc(vocab: Any, text: str, blob: str) -> Any:
    """The spaCy Doc of ``text`` from assay's token offsets (int32 (start, end) pairs, base64):
    spaCy leaves at most one space between tokens, so words and spaces give back the text."""
    pairs = array("i", b64decode(blob))
    starts, ends = pairs[0::2], pairs[1::2]
    words = [text[start:end] for start, end in zip(starts, ends, strict=True)]
    spaces = [start > end for end, start in zip(ends, starts[1:], strict=False)]
    if ends:
        spaces.append(len(text) > ends[-1])
    return Doc(vocab, words=words, spaces=spaces)


def _vm_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _mount(source: str | None, target: str, kind: str | None, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            kind.encode() if kind else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _bind(source: str, root: str, *, writable: bool = False) -> None:
    """``source`` (a folder or a file) at the same path below ``root``; read-only unless
    ``writable``, never with set-user-id programs or devices of its own."""
    target = root + source
    parent = os.path.dirname(target)
    os.makedirs(parent, mode=0o755, exist_ok=True)  # mode: the run's uid must pass through
    if os.path.isdir(source):
        os.mkdir(target, 0o755)
    else:
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    _mount(source, target, None, _MS_BIND | _MS_REC)
    if not writable:
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
        if os.statvfs(source).f_flag & os.ST_NOEXEC:
            flags |= _MS_NOEXEC  # kept as it was: a bind may not lift it
        _mount(None, target, None, flags)


def _tmpfs(target: str, megabytes: int, mode: str = "1777") -> None:
    os.makedirs(target, mode=0o755, exist_ok=True)
    size = f"size={megabytes}m,nr_inodes=10000,mode={mode}"
    _mount("tmpfs", target, "tmpfs", _MS_NOSUID | _MS_NODEV, size)


def _python_folders() -> list[str]:
    """The folders of the Python installation: the interpreter's prefix and the
    environment's (a virtual environment's folder, not the project around it)."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return sorted(os.path.abspath(prefix) for prefix in prefixes)


def _inside(path: str, folders: list[str]) -> bool:
    return any(path == folder or path.startswith(folder.rstrip("/") + "/") for folder in folders)


def _own_filesystem(root: str, workdir: str, limits: dict[str, Any]) -> None:
    """Give this process (root, before any code runs) a private mount namespace whose root
    is a new tmpfs holding only: the system's programs and libraries (``_SYSTEM``) and the
    Python installation, read-only; a minimal /etc (``_ETC``) and /dev (``_DEVICES``, links
    into /proc/self/fd, a /dev/shm of its own); a /proc of its own that shows only the
    processes of the run's uid; a /tmp of its own; the run's working directory at
    ``WORKDIR``. /tmp and /dev/shm hold ``file_mb`` each. Everything else of the host (its
    /run with the sockets of databases, data dirs, homes, project checkouts) is not there.

    ``root`` is an empty folder to mount the new root on; ``workdir`` the run's working
    directory, which the server made (and fills, for an active learner)."""
    os.umask(0o022)
    _check(_libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # no mount here reaches the host
    _tmpfs(root, 1, mode="0755")
    # /tmp first: an installation below the host's /tmp (a checkout there, with its virtual
    # environment) is bound into it, not hidden under it.
    _tmpfs(root + "/tmp", limits["file_mb"])
    bound: list[str] = []
    for name in _SYSTEM:
        path = "/" + name
        if os.path.islink(path):
            os.symlink(os.readlink(path), root + path)
        elif os.path.isdir(path):
            _bind(path, root)
            bound.append(path)
    for folder in _python_folders():
        if os.path.isdir(folder) and not _inside(os.path.realpath(folder), bound):
            _bind(folder, root)
            bound.append(folder)
    os.mkdir(root + "/etc", 0o755)
    for name in _ETC + (_ETC_NETWORK if limits["network"] else ()):
        source = os.path.realpath("/etc/" + name)  # a link may point where nothing is bound
        if os.path.exists(source):
            target = root + "/etc/" + name
            if os.path.isdir(source):
                os.mkdir(target, 0o755)
            else:
                os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
            _mount(source, target, None, _MS_BIND | _MS_REC)
            _mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID)
    os.mkdir(root + "/dev", 0o755)
    for name in _DEVICES:
        _bind("/dev/" + name, root, writable=True)
    for name, link in _DEV_LINKS.items():
        os.symlink(link, f"{root}/dev/{name}")
    _tmpfs(root + "/dev/shm", limits["file_mb"])
    os.mkdir(root + "/proc", 0o555)
    try:  # hidepid=invisible: Linux 5.8, where each /proc mount has options of its own
        flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
        _mount("proc", root + "/proc", "proc", flags, "hidepid=invisible")
    except OSError as exc:
        raise OSError(exc.errno, f"{exc.strerror} (a private /proc needs Linux 5.8)") from None
    os.mkdir(root + WORKDIR, 0o755)
    _mount(workdir, root + WORKDIR, None, _MS_BIND)
    _mount(None, root + WORKDIR, None, _MS_REMOUNT | _MS_BIND | _MS_NOSUID | _MS_NODEV)
    # The new root becomes /, the old one is detached: no path leads out any more.
    os.chdir(root)
    _check(_libc.pivot_root(b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", _MNT_DETACH), "umount the host's root")
    os.chdir("/")
    _mount(None, "/", None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    # Folders of sys.path outside the installation (an editable install's source
    # checkout) are not there: gone from the import system too.
    sys.path[:] = [entry for entry in sys.path if not entry or os.path.exists(entry)]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()


if __name__ == "__main__":
    main()
