"""Run ``propbench`` in a real subprocess (for kills and fresh environments), and wait for it to reach a point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MAIN", "SMALL_DEMO", "small_demo", "PropbenchProcess", "run_propbench", "start_propbench",
           "marker_hook"]

#: ``python -c`` code that runs ``propbench`` with the remaining arguments.
MAIN = "import sys; from benchmark.cli.main import main; sys.exit(main(sys.argv[1:]))"


def small_demo(ids: Sequence[str] = ()) -> str:
    """``python -c`` code for ``propbench`` with the demo collection cut to one labelled case per dataset (and to the
    datasets ``ids`` when given): the real demo command, quicker."""
    keep = f" if d.id in {list(ids)!r}" if ids else ""
    return ("import sys; from dataclasses import replace; from benchmark.demo import collection; "
            f"collection.DEMO_DATASETS = tuple(replace(d, cases=1) for d in collection.DEMO_DATASETS{keep}); "
            "from benchmark.cli.main import main; sys.exit(main(sys.argv[1:]))")


#: ``small_demo()`` of every demo dataset.
SMALL_DEMO = small_demo()


def run_propbench(argv: Sequence[str], env: Mapping[str, str] | None = None, *, code: str = MAIN,
                  timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``propbench argv`` to the end in a fresh interpreter."""
    return subprocess.run([sys.executable, "-c", code, *argv], env=dict(env if env is not None else os.environ),
                          capture_output=True, text=True, timeout=timeout_s, check=False)


@dataclass
class PropbenchProcess:
    """A running ``propbench`` in its own process group; its stderr is collected line by line."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def wait_until(self, reached: Callable[[], bool], what: str, timeout_s: float = 180) -> None:
        """Block until ``reached()`` (the process blocks there until killed), failing if it exits or times out."""
        deadline = time.monotonic() + timeout_s
        while not reached():
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the reader thread take the last lines
                raise AssertionError(f"propbench exited with status {self.process.returncode} before {what}; "
                                     f"stderr:\n{''.join(self.lines)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"propbench did not reach {what} within {timeout_s} s; stderr:\n"
                                     f"{''.join(self.lines)}")
            time.sleep(0.05)

    def wait_for_pause(self, step: str) -> None:
        """Block until the process reports that it paused at ``step`` (``transactions.pause_point``)."""
        self.wait_until(lambda: any(f"paused at {step}" in line for line in self.lines), f"pause point {step}")

    def kill(self) -> None:
        """SIGKILL the whole process group (propbench and the git processes it started) and reap it."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended on its own (the test has already failed then)
            pass
        self.process.wait(timeout=30)


def start_propbench(argv: Sequence[str], env: Mapping[str, str] | None = None) -> PropbenchProcess:
    """Start ``propbench argv`` in a new session (so that the whole group can be killed)."""
    process = subprocess.Popen([sys.executable, "-c", MAIN, *argv], env=dict(env if env is not None else os.environ),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    running = PropbenchProcess(process)

    def collect() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            running.lines.append(line)

    threading.Thread(target=collect, daemon=True).start()
    return running


def marker_hook(path: Path, marker: Path, *, when: str = "") -> None:
    """Write an executable git hook at ``path`` that creates ``marker`` and then blocks until killed (when ``when``
    is given, only if the hook's first argument equals it)."""
    condition = f'[ "$1" = "{when}" ] || exit 0\n' if when else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{condition}: > '{marker}'\nwhile :; do sleep 1; done\n", encoding="utf-8")
    path.chmod(0o755)
