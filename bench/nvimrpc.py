"""A small msgpack-RPC client for Neovim's --listen socket (the benchmark's driver and probe).

Requests are synchronous; notifications that arrive meanwhile are queued for
wait_notification().  Uses tests/cli/msgpack_lite.py (no third-party packages here).
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "cli"))
import msgpack_lite  # noqa: E402


class NvimError(Exception):
    pass


class Nvim:
    def __init__(self, path, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.stream = msgpack_lite.Stream()
        self.pending = []  # decoded messages not consumed yet
        self.notes = []  # notifications: (method, params)
        self.next_id = 1

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _read(self, timeout=None):
        self.sock.settimeout(timeout)
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("Neovim closed the connection")
        self.pending.extend(self.stream.feed(data))

    def send_request(self, method, *args):
        msgid = self.next_id
        self.next_id += 1
        self.sock.sendall(msgpack_lite.pack([0, msgid, method, list(args)]))
        return msgid

    def wait_response(self, msgid, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.pending):
                if m[0] == 1 and m[1] == msgid:
                    del self.pending[i]
                    if m[2] is not None:
                        raise NvimError(repr(m[2]))
                    return m[3]
            self._take_notes()
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if left == 0.0:
                raise TimeoutError("no answer from Neovim")
            self._read(left)

    def _take_notes(self):
        keep = []
        for m in self.pending:
            if m[0] == 2:
                self.notes.append((m[1], m[2]))
            else:
                keep.append(m)
        self.pending = keep

    def request(self, method, *args, timeout=60.0):
        return self.wait_response(self.send_request(method, *args), timeout)

    def notify(self, method, *args):
        self.sock.sendall(msgpack_lite.pack([2, method, list(args)]))

    def lua(self, code, *args, timeout=60.0):
        return self.request("nvim_exec_lua", code, list(args), timeout=timeout)

    def command(self, cmd):
        return self.request("nvim_command", cmd)

    def wait_notification(self, name, timeout=120.0):
        deadline = time.monotonic() + timeout
        while True:
            self._take_notes()
            for i, (method, params) in enumerate(self.notes):
                if method == name:
                    del self.notes[i]
                    return params
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %s notification from Neovim" % name)
            self._read(left)
