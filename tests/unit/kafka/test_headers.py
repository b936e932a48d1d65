"""Headers are checked before librdkafka sees them (confluent-kafka 2.x crashes the process on a header
name that is not valid UTF-8): whatever ``header_problem`` passes, confluent-kafka takes."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Producer
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import KAFKA_LOG
from pipeline.kafka.clientlog import kafka_trouble
from pipeline.kafka.producer import header_problem, message_overhead

parts = st.none() | st.text(max_size=6) | st.binary(max_size=6) | st.integers() | st.just("\ud800")
headers = st.none() | st.lists(st.tuples(parts, parts) | st.tuples(parts) | parts, max_size=3) | parts


@given(headers)
def test_what_passes_the_check_confluent_kafka_takes(candidate: Any) -> None:
    problem = header_problem(candidate)
    if problem is not None:
        assert isinstance(problem, str) and problem
        return
    producer = Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 1})
    producer.produce("t", value=b"v", headers=candidate)  # must not raise (nor crash)
    assert message_overhead(candidate) >= 512


def test_lone_surrogates_are_refused_in_names_and_values() -> None:
    assert header_problem([("\ud800", "v")]) is not None
    assert header_problem([("h", "\udfff")]) is not None
    assert header_problem([("h", b"\xff"), ("g", None)]) is None


def test_the_sentence_about_kafka_prefers_authentication_trouble() -> None:
    KAFKA_LOG.error(
        "FAIL [thrd:sasl_plaintext://h:9092/bootstrap]: h:9092/bootstrap: SASL authentication error: bad pw"
    )
    KAFKA_LOG.error(
        "FAIL [thrd:h:9092/bootstrap]: h:9092/bootstrap: Connect to ipv4#10.0.0.1:9092 failed: timed out"
    )
    assert kafka_trouble() == "h:9092/bootstrap: SASL authentication error: bad pw"
