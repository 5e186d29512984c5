"""Text tools: read_text_file, word_count, and text_downloader against a loopback HTTP server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nbagents.errors import ToolError
from nbagents.tools import text as tx
from nbagents.tools import web

PAGE = """<!doctype html><html><head><title>Tide  tables</title>
<style>body { color: red }</style><script>alert("no")</script></head>
<body><h1>Brest</h1><p>High tide at 06:12 &amp; 18:40.</p>
<ul><li>Low: 0.9 m</li><li>High: 6.1 m</li></ul><noscript>enable js</noscript>
<pre>keep   these   spaces</pre><p>Caf&eacute; ouvert</p></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 - http.server API
        status, headers, body = self.routes.get(self.path, (404, {"Content-Type": "text/plain"}, b"missing"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    routes = {
        "/page": (200, {"Content-Type": "text/html; charset=utf-8"}, PAGE.encode("utf-8")),
        "/latin": (200, {"Content-Type": "text/html"},
                   '<html><head><meta charset="iso-8859-1"></head><p>Caf\xe9</p></html>'.encode("latin-1")),
        "/plain": (200, {"Content-Type": "text/plain"}, b"just text\n"),
        "/big": (200, {"Content-Type": "text/plain"}, b"word " * 5000),
        "/png": (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n"),
        "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
        "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/to-page": (301, {"Location": "/page"}, b""),
    }
    handler = type("Handler", (_Handler,), {"routes": routes})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_read_text_file_decodes_utf8_bom_utf16_and_cp1252(tmp_path):
    (tmp_path / "a.txt").write_text("héllo wörld", encoding="utf-8")
    assert tx.read_text_file(str(tmp_path / "a.txt")) == "héllo wörld"
    (tmp_path / "bom.txt").write_bytes("\ufeffbonjour".encode())
    assert tx.read_text_file(str(tmp_path / "bom.txt")) == "bonjour"
    (tmp_path / "u16.txt").write_text("grüße", encoding="utf-16")
    assert tx.read_text_file(str(tmp_path / "u16.txt")) == "grüße"
    (tmp_path / "win.txt").write_bytes("café – 5€".encode("cp1252"))
    assert tx.read_text_file(str(tmp_path / "win.txt")) == "café – 5€"


def test_read_text_file_refuses_binary_big_hidden_and_folders(tmp_path, monkeypatch):
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01\x02abc")
    with pytest.raises(ToolError, match="binary"):
        tx.read_text_file(str(tmp_path / "bin.dat"))
    monkeypatch.setattr(tx, "MAX_TEXT_BYTES", 10)
    (tmp_path / "long.txt").write_text("x" * 11)
    with pytest.raises(ToolError, match="at most 10"):
        tx.read_text_file(str(tmp_path / "long.txt"))
    (tmp_path / ".env").write_text("TOKEN=secret")
    with pytest.raises(ToolError, match="hidden"):
        tx.read_text_file(str(tmp_path / ".env"))
    with pytest.raises(ToolError, match="not a file"):
        tx.read_text_file(str(tmp_path))
    with pytest.raises(ToolError, match="No text file"):
        tx.read_text_file(str(tmp_path / "nope.txt"))


def test_output_folder_is_readable_even_if_hidden(tmp_path, monkeypatch):
    hidden_out = tmp_path / ".outputs"
    monkeypatch.setenv("NBAGENTS_OUTPUT_DIR", str(hidden_out))
    target = tx.writable_path("notes.txt")
    target.write_text("kept")
    assert tx.read_text_file(str(target)) == "kept"


def test_word_count():
    assert tx.word_count("The tide's high at 6 o'clock, well-known fact.") == 8
    assert tx.word_count("") == 0
    assert tx.word_count("  un   deux\ntrois ") == 3


def test_html_to_text_drops_scripts_and_keeps_blocks():
    text = web.html_to_text(PAGE)
    lines = text.splitlines()
    assert lines[0] == "Tide tables"
    assert "Brest" in lines and "High tide at 06:12 & 18:40." in lines
    assert "- Low: 0.9 m" in lines and "- High: 6.1 m" in lines
    assert "keep   these   spaces" in lines
    assert "Café ouvert" in lines
    assert "alert" not in text and "color" not in text and "enable js" not in text


def test_text_downloader_reads_pages(server):
    text = web.text_downloader(server + "/page")
    assert text.startswith("Tide tables") and "High tide at 06:12 & 18:40." in text
    assert web.text_downloader(server + "/latin") == "Café"
    assert web.text_downloader(server + "/plain") == "just text"
    assert web.text_downloader(server + "/to-page").startswith("Tide tables")


def test_text_downloader_limits_size(server, monkeypatch):
    monkeypatch.setattr(web, "MAX_BYTES", 1000)
    text = web.text_downloader(server + "/big")
    assert text.endswith("[truncated: the page is longer than 1,000 bytes]")
    assert len(text) < 1100


def test_text_downloader_refusals(server):
    with pytest.raises(ToolError, match="Only http and https"):
        web.text_downloader("file:///etc/passwd")
    with pytest.raises(ToolError, match="Only http and https"):
        web.text_downloader("ftp://example.com/x")
    with pytest.raises(ToolError, match="link-local"):
        web.text_downloader("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ToolError, match="metadata"):
        web.text_downloader("http://metadata.google.internal/")
    with pytest.raises(ToolError, match="not allowed|Only http and https"):
        web.text_downloader(server + "/to-file")
    with pytest.raises(ToolError, match="link-local"):
        web.text_downloader(server + "/to-metadata")
    with pytest.raises(ToolError, match="404"):
        web.text_downloader(server + "/nothing")
    with pytest.raises(ToolError, match="image/png"):
        web.text_downloader(server + "/png")


def test_text_tools_signatures():
    tools = {t.name: t for t in [*tx.text_tools(), *web.web_tools()]}
    assert tools["read_text_file"].signature() == "read_text_file(path: str) -> str: Read the text file at `path`."
    assert tools["word_count"].signature(short=True) == "word_count(text: str) -> int"
    assert tools["text_downloader"].signature(short=True) == "text_downloader(url: str) -> str"
    assert tools["word_count"](text="one two") == 2
