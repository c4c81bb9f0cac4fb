"""Running user code: os._exit is an error, Ctrl-C is one line and exit 130, the time limit
leaves the process as it found it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, ProjectDir, klaster_subprocess

from klaster_build import engine, output
from klaster_build.user_code import guarded

GOOD = """\
from klaster_build.dsl import Container, Deployment, Service

web = Deployment("web", containers=[Container("web", image="nginx:1.27.3", ports={"http": 80})])
Service("web", workload=web, ports={"http": 80})
"""


@pytest.mark.parametrize(
    ("source", "line", "call"),
    [
        ("import os\nos._exit(0)\n", 2, "os._exit(0)"),
        ("import posix\n\nposix._exit(3)\n", 3, "os._exit(3)"),
    ],
)
def test_os_exit_in_an_app_is_a_located_error(
    project: ProjectDir, source: str, line: int, call: str
) -> None:
    """os._exit would end the build at once with its status and nothing said: a located error.
    (A separate process: were the guard broken, it would end the test run with exit 0.)"""
    project.app("web", GOOD)
    project.app("bad", source)
    result = klaster_subprocess("build", cwd=project.root)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"apps.d/bad.py:{line}: error: {call} would end klaster at once, with nothing written or "
        "said; remove it (raise an exception to stop the build with a message)\n"
        "klaster: 1 error; nothing was written\n"
    )
    assert not project.out.exists()


def test_a_child_process_an_app_forks_still_ends_with_os_exit(project: ProjectDir) -> None:
    """multiprocessing's children end with os._exit: in a child the real one runs."""
    project.app(
        "web",
        GOOD
        + "import os\nchild = os.fork()\nif child == 0:\n    os._exit(7)\n"
        + "assert os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 7\n",
    )
    result = klaster_subprocess("build", cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert (project.out / "apps/web/deployment.yaml").is_file()


def test_the_guard_puts_os_exit_back(project: ProjectDir, run) -> None:
    """After loading, os._exit is the real one again."""
    original = os._exit
    project.app("web", GOOD)
    assert run("build")[0] == 0
    assert os._exit is original
    assert sys.modules[os.name]._exit is original


def test_the_time_limit_keeps_an_alarm_set_before_it() -> None:
    """A caller's own alarm (a test runner's timeout) and handler survive a guarded run."""

    def callers_handler(signum: int, frame: object) -> None:
        raise AssertionError("the caller's alarm went off")

    previous = signal.signal(signal.SIGALRM, callers_handler)
    signal.setitimer(signal.ITIMER_REAL, 1000)
    try:
        with guarded(30):
            assert signal.getitimer(signal.ITIMER_REAL)[0] <= 30
        assert signal.getsignal(signal.SIGALRM) is callers_handler
        assert 30 < signal.getitimer(signal.ITIMER_REAL)[0] <= 1000
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_ctrl_c_says_one_line_and_leaves_out_as_it_was(
    project: ProjectDir, run, monkeypatch
) -> None:
    """KeyboardInterrupt before writing: exit 130, one line on stderr, out/ untouched."""
    project.app("web", GOOD)
    assert run("build")[0] == 0
    before = project.snapshot()
    project.app("web", GOOD.replace("nginx:1.27.3", "nginx:1.27.4"))

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "render_project", interrupted)
    code, out, err = run("build")
    assert code == 130
    assert (out, err) == ("", "klaster: interrupted; out/ was left as it was\n")
    assert project.snapshot() == before


def test_ctrl_c_while_writing_says_out_is_whole(project: ProjectDir, run, monkeypatch) -> None:
    """KeyboardInterrupt once out/ was swapped: the message says so, and out/ is the whole new
    tree (renovate.json, outside out/, still old): the next build finishes."""
    project.app("web", GOOD)
    assert run("build")[0] == 0
    project.app("web", GOOD.replace("nginx:1.27.3", "nginx:1.27.4"))
    real_swap = output._swap_in

    def swap_then_interrupt(*args: object, **kwargs: object) -> None:
        real_swap(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(output, "_swap_in", swap_then_interrupt)
    code, _, err = run("build")
    assert code == 130
    assert err == (
        "klaster: interrupted while writing; out/ holds the old tree or the new one, whole, "
        "never a mix (files outside it may be older): build again\n"
    )
    interrupted = project.snapshot()
    monkeypatch.undo()
    assert run("build")[0] == 0
    assert project.snapshot() == interrupted
    assert "nginx:1.27.4" in project.file("out/apps/web/deployment.yaml")


@pytest.mark.parametrize(
    ("signum", "status", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_real_ctrl_c_or_sigterm_in_an_endless_app_is_one_line(
    project: ProjectDir, signum: signal.Signals, status: int, said: str
) -> None:
    """SIGINT (exit 130) or SIGTERM (143) to a build stuck in an app (no time limit): one line,
    no traceback, nothing written."""
    project.app("web", GOOD)
    project.app(
        "spin", "import pathlib\npathlib.Path('started').write_text('')\nwhile True: pass\n"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
        "KLASTER_LOAD_TIMEOUT": "0",
    }
    build = subprocess.Popen(
        [sys.executable, "-m", "klaster_build", "build"],
        cwd=project.root,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60  # a wait for the start, not a measurement
        while not (project.root / "started").exists():
            assert build.poll() is None, build.communicate()
            assert time.monotonic() < deadline, "the build never reached the app"
            time.sleep(0.05)
        build.send_signal(signum)
        out, err = build.communicate(timeout=60)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
    assert build.returncode == status, err
    assert (out, err) == ("", f"klaster: {said}; out/ was left as it was\n")
    assert not project.out.exists()


def test_print_in_an_app_goes_to_stderr(project: ProjectDir, run) -> None:
    """stdout is klaster's (`--json`): an app's print() shows on stderr."""
    project.app("web", GOOD + "print('hello from web')\n")
    code, out, err = run("todo", "--json")
    assert code == 0, err
    json.loads(out)
    assert "hello from web" in err and "hello from web" not in out


def test_a_thread_an_app_leaves_running_does_not_keep_klaster_alive(
    project: ProjectDir,
) -> None:
    """An app starts a thread that never ends: klaster still exits, with its status and its
    output whole."""
    project.app(
        "web",
        GOOD + "import threading, time\nthreading.Thread(target=time.sleep, args=(600,)).start()\n",
    )
    done = klaster_subprocess("todo", "--json", cwd=project.root, timeout=60)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)
    done = klaster_subprocess("build", cwd=project.root, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr


def test_ctrl_c_after_writing_never_says_out_was_left(
    project: ProjectDir, run, monkeypatch
) -> None:
    """Ctrl-C while the summary of a finished build prints: out/ is the new tree, and the line
    says it holds the old tree or the new one, not that it was left as it was."""
    from klaster_build import report

    project.app("web", GOOD)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "print_build", interrupted)
    code, _, err = run("build")
    assert code == 130
    assert "left as it was" not in err
    assert err.startswith("klaster: interrupted while writing; out/ holds the old tree or the new")
    assert (project.out / "apps/web/deployment.yaml").exists()
