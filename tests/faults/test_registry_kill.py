"""Registry killed: registrations under load, kill -9 of the registry at random moments (seeded), restart
it each time. After every restart each acknowledged registration (an HTTP 200 with its id) is present
and unchanged -- subject, version, id and text -- and no id ever names two schemas.

The bug this guards against: H2's default write delay (500 ms) let a kill -9 lose the last half second
of acknowledged registrations, and the restarted registry then handed their ids to other schemas.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass

import httpx
import pytest

from tests.faults.support import FaultSizes, FaultStack, record_result

pytestmark = pytest.mark.fault


@dataclass(frozen=True)
class Acknowledged:
    subject: str
    version: int
    schema_id: int
    text: str


def _schema(n: int) -> str:
    fields = [{"name": f"f{i}", "type": "string", "default": ""} for i in range(n % 7 + 1)]
    return json.dumps({"type": "record", "name": f"R{n}", "namespace": "kill.test", "fields": fields})


def _register(http: httpx.Client, subject: str, text: str) -> Acknowledged | None:
    try:
        answer = http.post(f"subjects/{subject}/versions", json={"schema": text})
    except httpx.HTTPError:
        return None  # not acknowledged: it may or may not be there, and either is fine
    if answer.status_code != 200:
        return None
    schema_id = answer.json()["id"]
    try:  # its version, asked while the registry is still up (else it is checked as the subject's latest)
        found = http.post(f"subjects/{subject}", json={"schema": text})
        version = found.json().get("version") if found.status_code == 200 else None
    except httpx.HTTPError:
        version = None
    return Acknowledged(subject, version or 0, schema_id, text)


def test_acknowledged_registrations_survive_kill_9_and_ids_are_never_reused(
    fault_stack: FaultStack, sizes: FaultSizes
) -> None:
    rng = random.Random(sizes.seed)
    started = time.monotonic()
    base = fault_stack.settings.registry.url + "/"
    acknowledged: list[Acknowledged] = []
    counter = iter(range(10**9))
    lost: list[Acknowledged] = []
    reused: list[tuple[int, str, str]] = []
    for kill in range(sizes.kills):
        stop = threading.Event()

        def register_until_killed(stop: threading.Event = stop) -> None:
            with httpx.Client(base_url=base, timeout=5) as http:
                while not stop.is_set():
                    n = next(counter)
                    ack = _register(http, f"kill-{fault_stack.unique('s')}", _schema(n))
                    if ack is not None:
                        acknowledged.append(ack)

        worker = threading.Thread(target=register_until_killed, daemon=True)
        worker.start()
        time.sleep(rng.uniform(0.5, 3.0))
        fault_stack.stack.registry.kill()  # at a random moment of the load
        stop.set()
        worker.join(30)
        fault_stack.restore()
        with httpx.Client(base_url=base, timeout=10) as http:
            for ack in acknowledged:
                by_id = http.get(f"schemas/ids/{ack.schema_id}")
                stored = http.get(f"subjects/{ack.subject}/versions/{ack.version or 'latest'}")
                same_id = by_id.status_code == 200 and json.loads(by_id.json()["schema"]) == json.loads(
                    ack.text
                )
                same_version = stored.status_code == 200 and stored.json().get("id") == ack.schema_id
                if not (same_id and same_version):
                    lost.append(ack)
            # a new schema after the restart must get an id no acknowledged schema had
            fresh = _register(http, f"kill-{fault_stack.unique('fresh')}", _schema(10**6 + kill))
            assert fresh is not None, "the restarted registry does not register"
            reused.extend(
                (fresh.schema_id, ack.text, fresh.text)
                for ack in acknowledged
                if ack.schema_id == fresh.schema_id and json.loads(ack.text) != json.loads(fresh.text)
            )
            acknowledged.append(fresh)
    record_result(
        "registry killed",
        sizes,
        messages=len(acknowledged),
        lost=len(lost),
        duplicated=None,
        dlq=None,
        recovered_after_s=None,
        seconds=round(time.monotonic() - started, 1),
        details={"kills": sizes.kills, "acknowledged": len(acknowledged), "ids_reused": len(reused)},
    )
    assert len(acknowledged) > 10 * sizes.kills, "too little load to mean anything"
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged registrations lost: {lost[:3]}"
    assert not reused, f"ids reused: {reused[:3]}"
