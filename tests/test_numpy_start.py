"""The front end loads numpy with a one-thread BLAS pool and leaves the environment as it was."""

import subprocess
import sys


def test_the_front_end_starts_numpy_with_one_blas_thread_and_keeps_the_users_environment():
    code = ("import os; from meeting_tui.numpy_start import import_numpy_with_one_blas_thread as f; f(); "
            "from threadpoolctl import threadpool_info; "
            "print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}), "
            "os.environ.get('OPENBLAS_NUM_THREADS'))")
    env = {k: v for k, v in __import__("os").environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[1]", "None"]
