"""A real llama.cpp server (Debian sid's llama-server) on 127.0.0.1 for ami's tests, and a
recording proxy in front of it.

The server and the tiny model are prepared by tests/llama/prepare.sh, which exports
AMI_LLAMA_SERVER (the patched llama-server), AMI_LLAMA_BACKEND (the CPU backend for
GGML_BACKEND_PATH) and AMI_LLAMA_MODEL (the generated GGUF).
"""
import http.client
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request


def configured():
    """Why the llama.cpp tests cannot run here, or None when they can."""
    for var in ("AMI_LLAMA_SERVER", "AMI_LLAMA_BACKEND", "AMI_LLAMA_MODEL"):
        v = os.environ.get(var)
        if not v or not os.path.exists(v):
            return "%s is not set or missing (tests/llama/prepare.sh prepares it)" % var
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """llama-server with the tiny model: `parallel` slots, one CPU thread, no web UI."""

    def __init__(self, tmp, parallel=4, ctx_per_slot=4096):
        self.port = free_port()
        self.log_path = os.path.join(tmp, "llama-server-%d.log" % self.port)
        env = dict(os.environ)
        env["GGML_BACKEND_PATH"] = os.environ["AMI_LLAMA_BACKEND"]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [os.environ["AMI_LLAMA_SERVER"], "-m", os.environ["AMI_LLAMA_MODEL"],
             "--host", "127.0.0.1", "--port", str(self.port), "-np", str(parallel),
             "-c", str(parallel * ctx_per_slot), "-t", "1", "--no-webui", "--no-warmup",
             "--slots", "--seed", "1"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
        end = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("llama-server exited with %s: %s" % (
                    self.proc.returncode, self.log_text()[-2000:]))
            try:
                if self.get("/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > end:
                raise RuntimeError("llama-server did not become healthy: " +
                                   self.log_text()[-2000:])
            time.sleep(0.05)

    @property
    def base(self):
        return "http://127.0.0.1:%d/v1" % self.port

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def slots(self):
        status, body = self.get("/slots")
        assert status == 200, (status, body)
        return json.loads(body)

    def busy_slots(self):
        return [s["id"] for s in self.slots() if s.get("is_processing")]

    def log_text(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class RecordingProxy:
    """Forwards HTTP/1.1 requests to the server and keeps, per request, the body sent and the
    exact response bytes received (headers stripped, chunked encoding removed)."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.exchanges = []  # {"path", "request": bytes, "response": bytes}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base(self):
        return "http://127.0.0.1:%d/v1" % self.port

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        f = conn.makefile("rb")
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                headers = {}
                while True:
                    h = f.readline().decode()
                    if h in ("\r\n", "\n", ""):
                        break
                    k, v = h.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
                body = f.read(int(headers.get("content-length", "0")))
                up = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=60)
                fwd = {k: v for k, v in headers.items() if k not in ("host", "content-length")}
                up.request(method, path, body=body or None, headers=fwd)
                r = up.getresponse()
                record = {"path": path, "request": body, "response": b""}
                with self.lock:
                    self.exchanges.append(record)
                out = ["HTTP/1.1 %d %s\r\n" % (r.status, r.reason)]
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                        out.append("%s: %s\r\n" % (k, v))
                out.append("Transfer-Encoding: chunked\r\n\r\n")
                conn.sendall("".join(out).encode())
                while True:
                    chunk = r.read1(65536)
                    if not chunk:
                        break
                    record["response"] += chunk
                    conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                conn.sendall(b"0\r\n\r\n")
                up.close()
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def stop(self):
        self.sock.close()


def stream_text(raw):
    """The answer text and the usage of a raw SSE body from the server, decoded exactly as
    the OpenAI wire format says: data lines, [DONE], delta.content."""
    text, usage, finish = [], None, None
    for block in raw.decode("utf-8").replace("\r\n", "\n").split("\n\n"):
        for line in block.split("\n"):
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                continue
            obj = json.loads(data)
            for ch in obj.get("choices") or []:
                c = (ch.get("delta") or {}).get("content")
                if c:
                    text.append(c)
                if ch.get("finish_reason"):
                    finish = ch["finish_reason"]
            if obj.get("usage"):
                usage = obj["usage"]
    return "".join(text), usage, finish


def chat(port, body):
    """One non-streaming chat completion (the same body with stream false)."""
    b = dict(body)
    b["stream"] = False
    b.pop("stream_options", None)
    req = urllib.request.Request("http://127.0.0.1:%d/v1/chat/completions" % port,
                                 data=json.dumps(b).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())
