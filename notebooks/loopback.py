"""A fake inference server on 127.0.0.1 for the remote-engines tutorial.

It is the server the test suite uses (``tests/servers.py``): it speaks TGI's routes (``/info``,
``/generate``, ``/generate_stream``, the Messages API) and OpenAI's (``/v1/chat/completions``,
``/v1/completions``), streams its replies, honours stop sequences, and acts out faults queued with
``server.push(...)``: ``unauthorized()`` (401), ``rate_limited(retry_after)`` (429),
``too_long()`` (the prompt does not fit), ``server_error()`` (500)... It listens on the loopback
interface only, and every request is recorded (``server.requests``, ``server.last``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent.parent / "tests"
if not (_TESTS / "servers.py").is_file():
    raise ImportError(f"The fake servers live in {_TESTS / 'servers.py'}, which is missing: "
                      "run this notebook from a clone of the nbagents repository.")
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))

# A proxy set in the environment must not sit between the engines and the loopback server.
_loopback = "127.0.0.1,localhost"
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = ",".join(filter(None, [os.environ.get(_name, ""), _loopback]))

from servers import (  # noqa: E402
    FakeServer,
    Fault,
    rate_limited,
    server_error,
    too_long,
    unauthorized,
)

__all__ = ["FakeServer", "Fault", "TGI_INFO", "rate_limited", "server_error", "too_long", "unauthorized"]

#: What ``GET /info`` answers: a TGI server serving a model with a 2,048-token window.
TGI_INFO = {"model_id": "fake/model", "max_total_tokens": 2048, "max_input_tokens": 2000,
            "max_stop_sequences": 4, "version": "2.4.0", "router": "text-generation-router"}
