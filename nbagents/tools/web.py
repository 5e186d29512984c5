"""``text_downloader``: fetch a web page and return its readable text (stdlib only).

Only ``http``/``https`` (redirects included), at most :data:`MAX_BYTES` read and
:data:`TIMEOUT` seconds spent, no JavaScript. Link-local addresses (cloud metadata services such
as ``169.254.169.254``) are refused, since a prompt-injected program could otherwise read
credentials from them; loopback and private addresses stay allowed for local servers.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
import urllib.error
import urllib.request
from email.message import Message
from html.parser import HTMLParser
from urllib.parse import urlsplit

from ..errors import ToolError
from .base import Tool
from .builtin import builtin_tool
from .text import decode_text

__all__ = ["FUNCTIONS", "MAX_BYTES", "TIMEOUT", "html_to_text", "check_url", "fetch", "text_downloader",
           "web_tools"]

MAX_BYTES = 2_000_000
TIMEOUT = 20.0
USER_AGENT = "nbagents-text-downloader/0.1"
_BLOCKED_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}

_SKIP = {"script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "head"}
_BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
          "section", "article", "header", "footer", "nav", "aside", "main", "pre", "blockquote",
          "hr", "dl", "dt", "dd", "figure", "figcaption", "form", "title", "address", "details",
          "summary", "td", "th"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.pre = 0
        self.in_title = False
        self.title = ""

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self.in_title = True
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")
            if tag == "pre":
                self.pre += 1
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in ("br", "hr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
            return
        if self.skip:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """The readable text of an HTML page: title first, no scripts or styles, one block per line."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    title = " ".join(parser.title.split())
    return f"{title}\n\n{text}".strip() if title and not text.startswith(title) else text


def check_url(url: str) -> str:
    """Refuse what ``text_downloader`` must not fetch; return the URL."""
    url = str(url).strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ToolError(f"Only http and https addresses can be downloaded, not {url[:100]!r}.")
    host = (parts.hostname or "").lower()
    if not host:
        raise ToolError(f"The address {url[:100]!r} has no host.")
    if host in _BLOCKED_HOSTS:
        raise ToolError(f"The host {host!r} is a cloud metadata service; it is not downloaded.")
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as e:
        raise ToolError(f"Cannot find the host {host!r} ({e.strerror}).",
                        hint="Check the address and the network connection.") from e
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address.is_link_local or address.is_multicast or address.is_unspecified:
            raise ToolError(f"The host {host!r} resolves to {address}, a link-local or special address; "
                            "it is not downloaded (such addresses serve cloud credentials).")
    return url


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT) -> tuple[bytes, Message, bool]:
    """GET ``url``: ``(body, headers, truncated)``, the body cut at ``max_bytes``."""
    opener = urllib.request.build_opener(_CheckedRedirects())
    request = urllib.request.Request(check_url(url), headers={
        "User-Agent": USER_AGENT, "Accept": "text/html,text/plain,application/xhtml+xml;q=0.9,*/*;q=0.5"})
    deadline = time.monotonic() + timeout
    try:
        with opener.open(request, timeout=min(timeout, 10.0)) as response:
            chunks, size, truncated = [], 0, False
            while True:
                if time.monotonic() > deadline:
                    raise ToolError(f"Downloading {url!r} took longer than {timeout:.0f} s.")
                chunk = response.read(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size >= max_bytes:
                    truncated = True
                    break
            return b"".join(chunks)[:max_bytes], response.headers, truncated
    except urllib.error.HTTPError as e:
        raise ToolError(f"The server answered {e.code} {e.reason} for {url!r}.") from e
    except urllib.error.URLError as e:
        raise ToolError(f"Cannot download {url!r}: {e.reason}.",
                        hint="Check the address; the machine may have no network.") from e
    except TimeoutError as e:
        raise ToolError(f"Downloading {url!r} timed out.") from e


def text_downloader(url: str) -> str:
    """Download the web page at `url` as text.

    HTML is turned into plain text (no JavaScript runs); at most 2 MB are read.
    """
    body, headers, truncated = fetch(url, max_bytes=MAX_BYTES, timeout=TIMEOUT)
    ctype = headers.get_content_type()
    charset = headers.get_content_charset()
    is_html = ctype in ("text/html", "application/xhtml+xml") or (
        ctype in ("text/plain", "application/octet-stream") and body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")))
    if not (is_html or ctype.startswith("text/") or ctype in ("application/json", "application/xml")
            or ctype.endswith(("+json", "+xml"))):
        raise ToolError(f"{url!r} is {ctype}, not text or a web page.")
    if is_html and not charset:
        m = re.search(rb"""<meta[^>]+charset=["']?([\w-]+)""", body[:4096], re.I)
        charset = m.group(1).decode("ascii") if m else None
    text = decode_text(body, charset)
    text = html_to_text(text) if is_html else text.strip()
    return text + (f"\n[truncated: the page is longer than {MAX_BYTES:,} bytes]" if truncated else "")


# the tool functions of this module, in the order the toolbox lists them
FUNCTIONS = (text_downloader,)


def web_tools() -> list[Tool]:
    """Fresh instances of the web tools."""
    return [builtin_tool(f) for f in FUNCTIONS]
