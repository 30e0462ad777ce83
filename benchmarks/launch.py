"""Run one command and report its own wall time, CPU time and peak memory, as JSON.

    python -S benchmarks/launch.py REPORT.json COMMAND [ARG ...]

Linux keeps a process's peak resident set across ``execve``: a command started straight
from the benchmark runner would report the runner's own peak (hundreds of MiB) as its
own. This small launcher forks a fresh process for the command, so the number is the
command's (plus this launcher's few MiB at most), the way GNU ``time`` does it.
"""

import json
import os
import sys
import time


def main() -> int:
    report, argv = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the command
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(report, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "seconds": seconds,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "max_rss_kib": usage.ru_maxrss,
                "exit_code": code,
            },
            fh,
        )
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
