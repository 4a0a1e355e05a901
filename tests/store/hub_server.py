#!/usr/bin/env python3
"""A tiny stand-in for a Hugging Face-style hub, for the store tests (no internet needed).

Serves ROOT/<owner>/<repo>/<path> at /<owner>/<repo>/resolve/main/<path>, with HTTP Range
support, and can misbehave on request: drop the connection after N body bytes, ignore Range,
send a right or wrong SHA-256 ETag (or X-Linked-Etag on a redirect, as huggingface.co does),
stall after N bytes, or answer every request with a fixed status. Prints "port N" on stdout once listening and
appends one line per request to --log.
"""
import argparse
import hashlib
import http.server
import os
import socket
import sys
import threading
import time

ARGS = None
CUTS_LEFT = 0
LOCK = threading.Lock()


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def etag_value(path):
    if ARGS.etag == "wrong":
        return '"' + "0" * 64 + '"'
    return '"' + sha256_of(path) + '"'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the request log is written below
        pass

    def record(self):
        if ARGS.log:
            with LOCK, open(ARGS.log, "a") as f:
                f.write("%s %s range=%s auth=%s\n" % (
                    self.command, self.path, self.headers.get("Range", "-"),
                    self.headers.get("Authorization", "-")))

    def local_file(self, path):
        # /owner/repo/resolve/main/file... or /cdn/owner/repo/file...
        parts = path.split("?")[0].split("/")[1:]
        if len(parts) >= 3 and parts[0] == "cdn":
            rel = parts[1:]
        elif len(parts) >= 5 and parts[2] == "resolve" and parts[3] == "main":
            rel = parts[:2] + parts[4:]
        else:
            return None
        full = os.path.realpath(os.path.join(ARGS.root, *rel))
        root = os.path.realpath(ARGS.root)
        if not full.startswith(root + os.sep) or not os.path.isfile(full):
            return None
        return full

    def send_empty(self, code, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self.handle_request(False)

    def do_GET(self):
        self.handle_request(True)

    def handle_request(self, with_body):
        global CUTS_LEFT
        self.record()
        if ARGS.status:
            self.send_empty(ARGS.status)
            return
        path = self.local_file(self.path)
        if path is None:
            self.send_empty(404)
            return
        if ARGS.redirect and not self.path.startswith("/cdn/"):
            parts = self.path.split("/")
            target = "/cdn/" + "/".join(parts[1:3] + parts[5:])
            headers = [("Location", target)]
            if ARGS.etag in ("linked", "wrong"):
                headers.append(("X-Linked-Etag", etag_value(path)))
                headers.append(("X-Linked-Size", str(os.path.getsize(path))))
            self.send_empty(302, headers)
            return
        size = os.path.getsize(path)
        start = 0
        rng = self.headers.get("Range")
        partial = False
        if rng and not ARGS.no_range and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes="):-1])
            if start >= size:
                self.send_empty(416, [("Content-Range", "bytes */%d" % size)])
                return
            partial = True
        self.send_response(206 if partial else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size - start))
        if not ARGS.no_range:
            self.send_header("Accept-Ranges", "bytes")
        if partial:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
        if ARGS.etag in ("sha256", "wrong") and not ARGS.redirect:
            self.send_header("ETag", etag_value(path))
        elif ARGS.etag != "none":
            self.send_header("ETag", '"not-a-digest-%d"' % size)
        self.end_headers()
        if not with_body:
            return
        with LOCK:
            cut = ARGS.cut_after >= 0 and CUTS_LEFT > 0
            if cut:
                CUTS_LEFT -= 1
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
        if ARGS.stall_after >= 0:
            # Send a little, then go silent with the connection open: a stalled transfer.
            self.wfile.write(data[:ARGS.stall_after])
            self.wfile.flush()
            time.sleep(60)
            return
        if cut:
            self.wfile.write(data[:ARGS.cut_after])
            self.wfile.flush()
            # Drop the connection mid-body, as a failing network would.
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(data)


def main():
    global ARGS, CUTS_LEFT
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--log")
    p.add_argument("--etag", choices=["none", "sha256", "linked", "wrong", "other"],
                   default="none")
    p.add_argument("--no-range", action="store_true")
    p.add_argument("--redirect", action="store_true")
    p.add_argument("--cut-after", type=int, default=-1)
    p.add_argument("--cut-times", type=int, default=1)
    p.add_argument("--status", type=int, default=0)
    p.add_argument("--stall-after", type=int, default=-1)
    ARGS = p.parse_args()
    CUTS_LEFT = ARGS.cut_times
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("port %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
