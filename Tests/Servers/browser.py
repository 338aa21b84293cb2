#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON
messages ended by NUL on fds 3 and 4; no websocket, no package): opens URL, waits until the page
has painted its data (the dashboard sets data-first-paint-ms), then evaluates each script given in
order, as the body of an async function, and prints their results as one JSON list.

Usage: browser.py URL SCRIPT...    (a script's result must be JSON-serialisable)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        to_browser_read, self.to_browser = os.pipe()
        self.from_browser, from_browser_write = os.pipe()

        def fds():  # the child's fd 3 reads commands, fd 4 writes answers
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        self.process = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "--window-size=1200,900"],
            # Kept open past the exec: close_fds runs after preexec_fn and spares only these.
            preexec_fn=fds, pass_fds=(3, 4),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self.buffer = b""
        self.next_id = 0

    def call(self, method, params=None, session=None, timeout=30.0):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self.next_id:
                    if "error" in answer:
                        raise RuntimeError(f"{method}: {answer['error']}")
                    return answer["result"]
            chunk = os.read(self.from_browser, 65536)
            if not chunk:
                raise RuntimeError("the browser closed the pipe")
            self.buffer += chunk
        raise TimeoutError(method)

    def close(self):
        self.process.kill()
        self.process.wait()
        # Its helper processes may still be writing there for a moment.
        shutil.rmtree(self.profile, ignore_errors=True)


def evaluate(browser, session, body):
    result = browser.call("Runtime.evaluate", {
        "expression": f"(async () => {{ {body} }})()", "awaitPromise": True, "returnByValue": True,
    }, session)
    if "exceptionDetails" in result:
        raise RuntimeError(f"script failed: {result['exceptionDetails']}")
    return result["result"].get("value")


def main():
    url, scripts = sys.argv[1], sys.argv[2:]
    browser = Browser()
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        browser.call("Page.navigate", {"url": url}, session)
        deadline = time.monotonic() + 20
        ready = "return !!(document.documentElement && document.documentElement.dataset.firstPaintMs);"
        while True:
            try:
                if evaluate(browser, session, ready):
                    break
            except RuntimeError:
                pass  # the page is still loading (no document, or its context was replaced)
            if time.monotonic() > deadline:
                raise TimeoutError("the page never painted its data")
            time.sleep(0.05)
        print(json.dumps([evaluate(browser, session, script) for script in scripts]))
    finally:
        browser.close()


if __name__ == "__main__":
    main()
