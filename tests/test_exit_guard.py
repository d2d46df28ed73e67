"""The program ends once its work is done, even when a device library left a thread blocked."""

import subprocess
import sys

from meeting_tui.capture.default_device import Defaults, DefaultDeviceWatcher, Endpoint

# A watcher whose read never returns (a sound driver hanging a COM call), stopped as a command stops it.
HUNG_READ = r"""
import asyncio, threading
from meeting_tui.capture.default_device import DefaultDeviceWatcher
entered = threading.Event()
def read():
    entered.set()
    threading.Event().wait()  # never returns
async def main():
    watcher = DefaultDeviceWatcher(lambda changed, now: None, read=read)
    watcher.start()
    while not entered.is_set():
        await asyncio.sleep(0.01)
    await watcher.stop()
    print("stopped", flush=True)
asyncio.run(main())
"""


def test_a_device_read_that_never_returns_does_not_keep_the_program_alive():
    proc = subprocess.run([sys.executable, "-c", HUNG_READ], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "stopped", proc.stderr


def test_a_blocked_thread_at_exit_is_shown_and_the_process_ends():
    """The last guard (``cli.entry``): past the grace, every thread's stack is printed and the process
    ends instead of hanging at the interpreter's exit."""
    code = ("import threading, meeting_tui.cli as cli\n"
            "threading.Thread(target=threading.Event().wait, name='stuck').start()\n"
            "print('done', flush=True)\n"
            "cli._end_within(1.0)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "done"
    assert proc.returncode != 0 and "Thread" in proc.stderr and "wait" in proc.stderr, proc.stderr


def test_the_watcher_still_reads_on_its_thread_and_reports_a_change():
    import asyncio

    seen = []
    a, b = Endpoint("id-a", "Speakers"), Endpoint("id-b", "Headset")

    async def main():
        reads = iter([Defaults(render=a), Defaults(render=a), Defaults(render=b)])
        watcher = DefaultDeviceWatcher(lambda changed, now: seen.append((changed, now.render)),
                                       read=lambda: next(reads, Defaults(render=b)), poll_s=0.01)
        watcher.start()
        while not seen:
            await asyncio.sleep(0.01)
        await watcher.stop()

    asyncio.run(main())
    assert seen[0] == ({"render"}, b)
