"""One job in its own process: `python -m models.jobs.child` is what the embedded queue starts for each job.

It is a fresh Python started by subprocess, not a multiprocessing child, so it never imports the server's
__main__ (Streamlit runs each page script as __main__) and nothing of multiprocessing needs patching. It warms up
(imports torch and the training code) while it waits, reads one job from stdin, and writes the job's messages to
stdout as frames of models.jobs.wire. After the job, stdin carries control lines (pause, resume, step, delay, stop);
stdin closing (the server gone) stops the job too. Its stdout carries frames only: anything printed goes to stderr, the server's log.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import threading

from models.jobs import wire
from models.jobs.runner import Control, execute, prepare_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.jobs.child")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the job")
    parser.add_argument("--no-preload", action="store_true", help="skip importing the training code first")
    args = parser.parse_args(argv)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not break the frames
    source = os.fdopen(os.dup(0), "rb", buffering=0)  # unbuffered: the stop byte must not sit in a read-ahead
    if not args.no_preload:
        prepare_worker(args.threads)
    data = wire.read_frame(source)
    if data is None:  # the server stopped before giving this worker a job
        return 0
    stop, control = threading.Event(), Control()
    lines = io.BufferedReader(source)  # the spec was read exactly: nothing of the control lines is lost

    def watch() -> None:
        for line in lines:  # control lines until "stop" or the end of stdin (the server is gone)
            if not control.apply(line.decode(errors="replace")):
                break
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    lock = threading.Lock()

    def send(kind: str, payload) -> None:
        frame = wire.dumps([kind, payload])
        with lock:
            wire.write_frame(out, frame)

    try:
        execute(wire.loads(data), send, stop.is_set, lambda: control)
    except (BrokenPipeError, OSError):  # the server went away: nobody is left to tell
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
