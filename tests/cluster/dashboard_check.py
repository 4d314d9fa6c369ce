#!/usr/bin/python3
"""Loads ha-controller's dashboard in headless Chromium and checks it.

Chromium runs with its own profile under --home, whose NSS certificate store
(HOME/.pki/nssdb) holds the client certificate and trusts the test CA, and
with a policy that selects that certificate for the dashboard's origin
(AutoSelectCertificateForUrls). The policy directory is bind-mounted over
/etc/chromium in a mount namespace of its own, so the host's /etc is never
touched. Chromium is driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: no port, no extra package).

Checks, each a failure with a message when not met in time:
  - every node of --nodes has a row;
  - the row of --vip shows --holder, and is visible without scrolling;
  - a live event is listed;
  - write buttons are shown for --role admin and absent for --role reader;
  - with --trigger: after the page is up, the command runs, and an event
    of kind --expect-kind (and, for config-drift, the cluster's drift badge)
    must then appear on the open page.
A PNG screenshot goes to --screenshot. Exit 0 when every check passed.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import time


class Browser:
    def __init__(self, argv, env):
        self.to_chrome_r, self.to_chrome_w = os.pipe()
        self.from_chrome_r, self.from_chrome_w = os.pipe()

        def child_fds():
            os.dup2(self.to_chrome_r, 3)
            os.dup2(self.from_chrome_w, 4)

        self.proc = subprocess.Popen(argv, env=env, preexec_fn=child_fds, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=open(env["HOME"] + "/chromium.log", "w"))
        os.close(self.to_chrome_r)
        os.close(self.from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def call(self, method, params=None, timeout=20.0):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            chunk = os.read(self.from_chrome_r, 1 << 20)
            if not chunk:
                raise RuntimeError(f"{method}: chromium closed the pipe")
            self.buffer += chunk
        raise RuntimeError(f"{method}: no answer in {timeout}s")

    def eval(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return r.get("result", {}).get("value")

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_for(browser, expression, what, timeout):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = browser.eval(expression)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not shown within {timeout}s: {what} (last: {value!r})")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--home", required=True, help="the browser's HOME, with .pki/nssdb set up")
    p.add_argument("--policy-dir", required=True, help="mounted over /etc/chromium")
    p.add_argument("--role", choices=["admin", "reader"], required=True)
    p.add_argument("--nodes", required=True, help="comma list")
    p.add_argument("--vip", required=True)
    p.add_argument("--holder", required=True)
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=900)
    p.add_argument("--screenshot", required=True)
    p.add_argument("--trigger", help="a shell command run once the page is up")
    p.add_argument("--expect-kind", help="the event kind the trigger causes, e.g. config-drift")
    p.add_argument("--timeout", type=float, default=30.0)
    a = p.parse_args()

    env = dict(os.environ, HOME=a.home)
    chromium = ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--remote-debugging-pipe", f"--user-data-dir={a.home}/profile",
                f"--window-size={a.width},{a.height}", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "about:blank"]
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/chromium && exec "$@"', a.policy_dir] + chromium
    browser = Browser(argv, env)
    try:
        targets = browser.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        browser.session = browser.call("Target.attachToTarget",
                                       {"targetId": page["targetId"], "flatten": True})["sessionId"]
        browser.call("Page.enable")
        browser.call("Runtime.enable")
        browser.call("Emulation.setDeviceMetricsOverride",
                     {"width": a.width, "height": a.height, "deviceScaleFactor": 1,
                      "mobile": a.width < 600})
        browser.call("Page.navigate", {"url": a.url})

        wait_for(browser, "document.getElementById('who') && "
                 "document.getElementById('who').textContent.includes('(" + a.role + ")')",
                 f"the caller shown as {a.role}", a.timeout)
        for node in a.nodes.split(","):
            wait_for(browser, f"!!document.querySelector('tr[data-node=\"{node}\"]')",
                     f"a row for node {node}", a.timeout)
        holder_js = (f"(() => {{ const r = document.querySelector('tr[data-vip=\"{a.vip}\"]');"
                     " if (!r) return null; const b = r.getBoundingClientRect();"
                     " return {holder: r.querySelector('td.holder').textContent,"
                     " bottom: b.bottom, right: b.right, height: window.innerHeight,"
                     " width: window.innerWidth}; })()")
        wait_for(browser, f"(() => {{ const v = {holder_js}; return v && v.holder === '{a.holder}'; }})()",
                 f"{a.vip} held by {a.holder}", a.timeout)
        where = browser.eval(holder_js)
        if where["bottom"] > where["height"]:
            raise AssertionError(f"the row of {a.vip} needs scrolling: {where}")
        wait_for(browser, "document.querySelectorAll('#event-list li').length > 0",
                 "a live event", a.timeout)
        buttons = browser.eval("document.querySelectorAll('button.write').length")
        if a.role == "admin" and not buttons:
            raise AssertionError("an admin sees no standby/takeover/move buttons")
        if a.role == "reader" and buttons:
            raise AssertionError(f"a reader sees {buttons} write buttons")

        if a.trigger:
            before = browser.eval("document.querySelectorAll('#event-list li').length")
            subprocess.run(a.trigger, shell=True, check=True, timeout=30)
            wait_for(browser, f"document.querySelectorAll('#event-list li').length > {before} && "
                     f"!!document.querySelector('#event-list li[data-kind=\"{a.expect_kind}\"]')",
                     f"a live {a.expect_kind} event", a.timeout)
            if a.expect_kind == "config-drift":
                wait_for(browser, "!!document.querySelector('section.cluster .badge.drift')",
                         "the config-drift badge", a.timeout)
        shot = browser.call("Page.captureScreenshot", {"format": "png"})
        with open(a.screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(f"ok: {a.role} at {a.width}x{a.height}: nodes, {a.vip} held by {a.holder}, "
              f"live events, {buttons} write buttons; screenshot {a.screenshot}")
        return 0
    except (AssertionError, RuntimeError, StopIteration) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        try:
            print(browser.eval("document.body ? document.body.innerText : ''"), file=sys.stderr)
        except Exception:  # noqa: BLE001 - best effort diagnostics
            pass
        try:
            print(open(a.home + "/chromium.log").read()[-3000:], file=sys.stderr)
        except OSError:
            pass
        return 1
    finally:
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
