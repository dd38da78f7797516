# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every emulator's server and command line do alike, said once: serve in a thread of the
test (a context manager), or run as a process that prints its URL on the first line of stdout
and stops on SIGTERM/SIGINT. The Chronos, Marathon and OpenNebula emulators use all of it; the
fault proxy, whose command line is its own, uses ThreadedServer, parser() and run()."""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading


class ThreadedServer:
    """Serves ``server`` (a socketserver) in a daemon thread between ``start()`` and ``stop()``
    or within a with block; ``url`` is http://host:port plus ``path``. ``started()`` and
    ``stopped()`` are the subclass's hooks (start the emulator's own threads, save its state);
    a server with more to close than its socket overrides its ``server_close()``."""

    thread_name = "emulator"

    def serve(self, server, path=""):
        self._server = server
        self.host, self.port = server.server_address[:2]
        self.url = "http://%s:%d%s" % (self.host, self.port, path)
        self._thread = None

    def started(self):
        """Called before the server takes requests."""

    def stopped(self):
        """Called once the server has stopped."""

    def start(self):
        self.started()
        # a short poll interval: stop() (shutdown) waits for one, per test fixture
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stops serving and closes the socket; also before start() or a second time
        (shutdown() would wait forever for a loop that never ran)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self.stopped()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def parser(prog, description):
    """A command line that starts with --host and --port (0: a free one)."""
    result = argparse.ArgumentParser(prog=prog, description=description)
    result.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    result.add_argument("--port", type=int, default=0, help="0 picks a free port")
    return result


def run(server):
    """Serves ``server`` (a ThreadedServer) until SIGTERM or SIGINT, its URL printed as the
    first line of stdout (what the tests and runme.sh scripts read); returns 0."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with server:
        print(server.url, flush=True)
        stopping.wait()
    return 0


def main(argv, prog, description, make_emulator, make_server, options=()):
    """An emulator's command line: --host, --port, --state-dir, --seed and --knobs (JSON), plus
    ``options`` (``(flag, type, help)``, each a knob of the same name); builds the emulator
    with ``make_emulator(state_dir=..., **knobs)`` and serves it with ``make_server(emulator,
    host=..., port=...)`` until a signal comes."""
    arguments = parser(prog, description)
    arguments.add_argument("--state-dir", help="keep (and resume) the state there")
    arguments.add_argument("--seed", type=int, help="of the *_rate knobs' draws")
    for flag, kind, text in options:
        arguments.add_argument(flag, type=kind, help=text)
    arguments.add_argument("--knobs", type=json.loads, default={},
                           help="a JSON object of any knobs (README.md lists them)")
    args = arguments.parse_args(argv)
    knobs = dict(args.knobs)
    for name in ["seed"] + [flag[2:].replace("-", "_") for flag, _kind, _text in options]:
        if getattr(args, name) is not None:
            knobs[name] = getattr(args, name)
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
    try:
        emulator = make_emulator(state_dir=args.state_dir, **knobs)
    except ValueError as exc:
        arguments.error(str(exc))
    return run(make_server(emulator, host=args.host, port=args.port))
