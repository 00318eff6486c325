"""Short fuzz runs (CI's version of fuzz/run.py) and a Hypothesis test: a signed message of any shape
gets 200 or a 4xx, never a 5xx and never an apology for a failed handler."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from bench.harness import call_wsgi
from handlers.shape import RULES
from tests import samples, wire
from tests.conftest import ROOT


@pytest.mark.parametrize("target, runs, success", [("webhook", 3000, "200"), ("notify", 400, "204")])
def test_short_fuzz_run_finds_nothing(tmp_path, target, runs, success):
    done = subprocess.run([sys.executable, str(ROOT / "fuzz" / "run.py"), target, f"--runs={runs}",
                           f"--artifacts={tmp_path}"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Done {runs} runs" in done.stderr
    answered = re.search(r"harness: (\d+) executions answered", done.stderr)
    assert answered and int(answered.group(1)) == runs
    assert f"  {success}\n" in done.stderr and "  400 " in done.stderr  # past the signature, both ways
    assert not list(tmp_path.glob("crash-*"))


NAMES = st.sampled_from(sorted(RULES) + ["Encrypt", "ScanCodeInfo", "item", "source", "content", "x", "@a"])
SCALARS = st.one_of(st.none(), st.text(max_size=40), st.integers(-10**25, 10**25).map(str),
                    st.sampled_from(["text", "event", "subscribe", "CLICK", "VIEW", "SCAN", "o_user", "帮助"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(st.tuples(NAMES, inner), max_size=3), max_leaves=8)
MESSAGES = st.one_of(
    st.lists(st.tuples(NAMES, VALUES), max_size=10),  # anything at all
    st.builds(lambda base, extra: base + extra,  # an official sample with odd additions
              st.sampled_from(samples.SAMPLES).map(lambda n: samples.sample(n, "o_hypo", int(time.time()), 77)),
              st.lists(st.tuples(NAMES, VALUES), max_size=3)),
)


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=MESSAGES)
def test_signed_message_of_any_shape_gets_200_or_4xx(app, settings, fields):
    body = samples.to_xml(fields).encode()
    before = app.services.metrics.errors._value.get()
    status, reply = call_wsgi(app, "/wechat", body, {"Content-Type": "text/xml"},
                              urlencode(wire.signed_query(settings.wechat.token)))
    assert status == 200 or 400 <= status < 500, (status, reply[:300])
    assert app.services.metrics.errors._value.get() == before, "a handler failed"
    if status >= 400:
        assert reply and len(reply) < 80
