"""The HTML report rendered in headless Chromium: no console errors, every image loads, the headline numbers
are on the page; a screenshot is kept.

Chromium is driven through the Chrome DevTools Protocol over a websocket (a minimal client on the standard
library below). Without Chromium the tests skip, except under ``CI=true`` where they fail: CI installs it
(``apt-get install -y --no-install-recommends chromium fonts-liberation``). ``HEECON_KEEP_SCREENSHOT=1``
also copies the screenshot to ``results/report_screenshot.png``; ``HEECON_CHROMIUM`` names another browser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.test_figures import make_results

ROOT = Path(__file__).resolve().parents[1]
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _chromium() -> str | None:
    env = os.environ.get("HEECON_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


# ---------------------------------------------------------------------------------- minimal websocket


class _WebSocket:
    """RFC 6455 client, text frames only: enough for the DevTools protocol on localhost."""

    def __init__(self, url: str, timeout: float = 20.0):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            raise ConnectionError(f"websocket handshake refused: {lines[0]}")
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        headers = {ln.split(":", 1)[0].strip().lower(): ln.split(":", 1)[1].strip() for ln in lines[1:] if ":" in ln}
        if headers.get("sec-websocket-accept") != accept:
            raise ConnectionError("websocket handshake: bad Sec-WebSocket-Accept")

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        full = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(full, "big")).to_bytes(n, "big") if n else b""
        self.sock.sendall(head + mask + masked)

    def send(self, text: str) -> None:
        self._send_frame(0x1, text.encode("utf-8"))

    def recv(self, timeout: float) -> str:
        self.sock.settimeout(timeout)
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
            if opcode == 0x8:
                raise ConnectionError("websocket closed by the browser")
            if opcode == 0x9:
                self._send_frame(0xA, data)
                continue
            if opcode in (0x0, 0x1, 0x2):
                parts.append(data)
                if b0 & 0x80:
                    return b"".join(parts).decode("utf-8")

    def close(self) -> None:
        try:
            self._send_frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class _Page:
    """One page target over the DevTools protocol: calls, and the events seen meanwhile."""

    def __init__(self, ws_url: str):
        self.ws = _WebSocket(ws_url)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = 20.0) -> dict[str, Any]:
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(max(0.1, deadline - time.monotonic())))
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, event: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        for msg in self.events[:seen]:
            if msg["method"] == event:
                return msg
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv(max(0.1, deadline - time.monotonic())))
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == event:
                    return msg
        raise TimeoutError(f"no {event} within {timeout} s")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (failed loads, CSP violations)."""
        out = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                args = p.get("args", [])
                out.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in args))
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: " + str(d.get("exception", {}).get("description") or d.get("text")))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(f"log ({p['entry'].get('source')}): {p['entry'].get('text')} {p['entry'].get('url', '')}")
        return out


class _Browser:
    def __init__(self, binary: str, workdir: Path):
        self.profile = workdir / "profile"
        self.profile.mkdir(parents=True)
        self.log = (workdir / "chromium.log").open("wb")
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--mute-audio", f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
                "--window-size=1280,900", "about:blank"]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not (port_file.is_file() and port_file.read_text().count("\n") >= 1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                tail = (workdir / "chromium.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"Chromium did not start ({binary}); its output:\n{tail}")
            time.sleep(0.05)
        self.port = int(port_file.read_text().splitlines()[0])

    def page(self) -> _Page:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as r:
            targets = json.load(r)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        return _Page(url)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        try:  # helpers (zygote, renderers) of the browser this test started: its own process group
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.log.close()


_PROBE = """(async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return JSON.stringify({
    images: imgs.map(i => ({id: (i.closest('figure') || {}).id || '', complete: i.complete,
                            width: i.naturalWidth, height: i.naturalHeight})),
    text: document.body.innerText,
    title: document.title,
    height: Math.ceil(document.documentElement.scrollHeight),
    width: Math.ceil(document.documentElement.scrollWidth),
    sections: Array.from(document.querySelectorAll('main > section')).map(s => s.id),
    first: (document.querySelector('main > section') || {innerText: ''}).innerText,
  });
})()"""


def render(page: _Page, url: str) -> dict[str, Any]:
    """Load ``url`` in the page; return the probe's findings, the errors seen and the page height."""
    page.events.clear()
    page.call("Page.navigate", {"url": url})
    page.wait_for("Page.loadEventFired", timeout=20)
    res = page.call("Runtime.evaluate", {"expression": _PROBE, "awaitPromise": True, "returnByValue": True})
    if "exceptionDetails" in res:
        raise RuntimeError(f"probe failed: {res['exceptionDetails']}")
    out = json.loads(res["result"]["value"])
    out["errors"] = page.errors()
    return out


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    binary = _chromium()
    if binary is None:
        msg = ("Chromium not found (install the Debian package: apt-get install -y --no-install-recommends "
               "chromium fonts-liberation, or set HEECON_CHROMIUM)")
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(msg + "; CI=true requires it")
        pytest.skip(msg)
    b = _Browser(binary, tmp_path_factory.mktemp("chromium"))
    try:
        page = b.page()
        for domain in ("Page", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        yield page
        page.ws.close()
    finally:
        b.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from heecon.report.html import build_report

    res = make_results(tmp_path_factory.mktemp("browser") / "fmh6", n_psa=200, dsa=False)
    return build_report(res.dir), res


# ---------------------------------------------------------------------------------------------- tests


def test_harness_catches_console_errors_and_broken_images(browser, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><p>x</p><img src='data:image/png;base64,AAAA'>"
                   "<script>console.error('deliberate'); throw new Error('boom');</script></body></html>")
    out = render(browser, bad.as_uri())
    assert any("deliberate" in e for e in out["errors"]), out["errors"]
    assert any("boom" in e for e in out["errors"]), out["errors"]
    assert out["images"] and out["images"][0]["width"] == 0


def test_report_renders_cleanly_with_every_image_and_the_headline(browser, report, tmp_path):
    from heecon.report.html import _money, headline

    path, res = report
    out = render(browser, path.as_uri())
    assert out["errors"] == []
    imgs = out["images"]
    expected = {"fig-state_occupancy", "fig-costs_by_sector", "fig-ce_plane", "fig-ceac", "fig-evpi"}
    assert {i["id"] for i in imgs} == expected
    assert all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in imgs), imgs

    summary = json.loads((res.dir / "summary.json").read_text())
    h = headline(summary)
    text = " ".join(out["text"].split())
    assert h.text in text
    p20 = summary["psa"]["prob_cost_effective"]["20000"]["usual"]
    assert f"probability {p20:.2f}" in text
    icer = next(r["icer"] for r in summary["icers"] if r["strategy"] == "intervention")
    assert _money(icer, "GBP") in text  # £90,757
    assert "£20,000 per QALY" in text
    assert out["title"].startswith(summary["scenario"]["title"])

    page_h = min(out["height"], 16000)
    shot = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                  "clip": {"x": 0, "y": 0, "width": 1280, "height": page_h,
                                                           "scale": 1}}, timeout=30)
    png = base64.b64decode(shot["data"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    keep = tmp_path / "report_screenshot.png"
    keep.write_bytes(png)
    if os.environ.get("HEECON_KEEP_SCREENSHOT"):
        dest = ROOT / "results" / "report_screenshot.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(keep, dest)


def test_flagship_report_opens_with_the_answer_and_fits_1280_px(browser, tmp_path):
    """The default run's report of the flagship (small sizes): the answer per payer is the first section, the
    default run's analyses, the parameter table and the study's account follow, the events-averted figure and a
    tornado per perspective load, no table or figure makes the page wider than 1280 px, no temporary folder is
    named, and the CHEERS checklist counts are the summary's."""
    import heecon

    sc = heecon.load_scenario(ROOT / "scenarios" / "mbt_aspd_vs_pau.toml", ["settings.individuals=300"])
    heecon.run(sc, psa=25, out=tmp_path / "flag", report=True)
    out = render(browser, (tmp_path / "flag" / "report.html").as_uri())
    assert out["errors"] == []
    assert out["sections"][0] == "answer"
    assert {"scenario-analysis", "one-way", "thresholds", "subgroups", "voi", "cba", "evidence", "study",
            "cheers"} <= set(out["sections"])
    first = " ".join(out["first"].split())
    assert "Per man" in first and "justice system" in first and "Prison-years" in first
    assert "PSA samples" in first and "pays for itself" in first
    ids = {i["id"] for i in out["images"]}
    assert {"fig-events_averted", "fig-tornado_public_sector", "fig-tornado_nhs_pss"} <= ids
    assert all(i["complete"] and i["width"] > 0 for i in out["images"])
    assert out["width"] <= 1280, out["width"]
    assert ".partial-" not in out["text"]
    cheers = json.loads((tmp_path / "flag" / "summary.json").read_text())["cheers"]
    assert cheers["reported"] >= 24 and cheers["of"] == 28
    assert f"{cheers['reported']} items reported" in out["text"]
