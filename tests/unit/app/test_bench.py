"""The benchmark's arithmetic and report (pipeline.app.bench.report): medians, ratios, targets and JSON keys,
per schema and for the scale-out. Samples are made up; nothing here measures or asserts a time."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.app.bench.report import (
    SCALE_OUT,
    TARGETS,
    BenchReport,
    Machine,
    Sample,
    render_table,
    summarise,
    workers_family,
)

MACHINE = Machine(cpu="Test CPU", cores=2, memory_gib=24.0, system="Linux", python="3.11", date="2026-11-27")
MB = 1024 * 1024


def _samples(rates: dict[str, list[float]], rss_mb: float = 1.0, schema: str = "orders") -> list[Sample]:
    """Samples of 1000 messages each, with the given rates (msgs/s) per ``phase_family``."""
    found = []
    for key, series in rates.items():
        phase, family = key.split("_", 1)
        found.extend(Sample(schema, phase, family, 1000, 1000 / rate, int(rss_mb * MB)) for rate in series)
    return found


RATES = {
    "produce_floor": [400_000, 380_000, 420_000],
    "produce_baseline": [62_500, 60_000, 65_000],
    "produce_ours": [160_000, 150_000, 170_000],
    "consume_floor": [300_000, 310_000, 290_000],
    "consume_baseline": [50_000, 40_000, 60_000],
    "consume_ours": [150_000, 300_000, 120_000],  # a noisy series: the median is 150 000
    "encode_baseline": [200_000] * 3,
    "encode_ours": [500_000] * 3,
    "decode_baseline": [60_000] * 3,
    "decode_ours": [300_000] * 3,
}


def _report(
    rates: dict[str, list[float]] = RATES,
    rss_mb: float = 1.0,
    *,
    more: list[Sample] | None = None,
    problems: dict[str, str] | None = None,
) -> BenchReport:
    return summarise(
        [*_samples(rates, rss_mb), *(more or [])],
        count=1000,
        repeat=3,
        batch_size=500,
        machine=MACHINE,
        codec="native",
        run_rss_growth_bytes=5 * MB,
        baseline_problems=problems,
        scale_out_partitions=2,
    )


def test_figures_are_medians_of_the_repetitions_in_phase_then_family_order() -> None:
    orders = _report().schemas["orders"]
    assert list(orders.figures) == list(RATES)
    assert orders.rate("consume", "ours") == pytest.approx(150_000)
    assert orders.figures["consume_ours"].rates == pytest.approx((150_000, 300_000, 120_000))
    assert orders.figures["produce_floor"].us_per_message == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("key", "expected", "reason"),
    [
        ("consume_vs_baseline", 3.0, "150k over 50k"),
        ("consume_vs_floor", 0.5, "150k over 300k"),
        ("produce_vs_baseline", 2.56, "160k over 62.5k"),
        ("produce_vs_floor", 0.4, "160k over 400k"),
        ("encode_vs_baseline", 2.5, "codec alone, no floor for it"),
        ("decode_vs_baseline", 5.0, "codec alone"),
    ],
)
def test_ratios_are_ours_over_the_other_family(key: str, expected: float, reason: str) -> None:
    assert _report().schemas["orders"].ratios()[key] == pytest.approx(expected), reason


def test_codec_phases_have_no_floor_ratio() -> None:
    assert "encode_vs_floor" not in _report().schemas["orders"].ratios()


def test_targets_are_judged_on_the_medians_and_on_our_rss() -> None:
    met = _report().schemas["orders"].targets_met()
    assert met == {
        "consume_vs_baseline": False,  # 3.0 < 6
        "produce_vs_baseline": True,  # 2.56 >= 2.5
        "rss_growth_mb": True,  # 1 MB
        "consume_vs_floor": True,  # 0.5 >= 0.5
        "produce_vs_floor": False,  # 0.4 < 0.5
    }
    assert _report(rss_mb=60).schemas["orders"].targets_met()["rss_growth_mb"] is False
    assert set(met) == set(TARGETS)


def test_breakdown_splits_each_message_into_transport_codec_and_the_rest() -> None:
    parts = _report().schemas["orders"].breakdown()["consume_ours"]
    assert parts["total_us"] == pytest.approx(1e6 / 150_000, abs=1e-3)
    assert parts["transport_us"] == pytest.approx(1e6 / 300_000, abs=1e-3)
    assert parts["codec_us"] == pytest.approx(1e6 / 300_000, abs=1e-3)
    assert parts["other_us"] == pytest.approx(
        parts["total_us"] - parts["transport_us"] - parts["codec_us"], abs=2e-3
    )


def test_json_keys_say_what_they_are_and_the_document_serialises() -> None:
    document = _report().to_json()
    json.dumps(document)
    orders = document["schemas"]["orders"]
    for key in ("consume_vs_baseline", "consume_vs_floor", "produce_vs_baseline", "produce_vs_floor"):
        assert key in orders
    assert orders["msgs_per_s_median"]["consume_ours"] == 150_000
    assert orders["msgs_per_s_runs"]["consume_ours"] == [150_000, 300_000, 120_000]
    assert orders["rss_growth_mb_max"]["produce_ours"] == 1.0
    assert orders["targets_met"]["produce_vs_baseline"] is True
    assert orders["spread_fraction"]["consume_ours"] == pytest.approx((300_000 - 120_000) / 150_000, abs=1e-3)
    assert orders["baseline_problem"] is None
    assert document["run_rss_growth_mb"] == 5.0
    assert document["machine"]["cores"] == 2
    assert document["codec"] == "native"
    assert document["scale_out"] is None


def test_a_missing_family_gives_no_ratio_rather_than_a_division_by_zero() -> None:
    report = _report({"consume_ours": [100_000], "consume_floor": [200_000]}).schemas["orders"]
    assert report.ratios() == {"consume_vs_floor": pytest.approx(0.5)}
    assert "consume_vs_baseline" not in report.targets_met()


def test_the_table_shows_every_figure_the_breakdown_and_the_verdicts() -> None:
    table = render_table(_report())
    assert "| consume | ours | 150,000 | 6.67 | 150,000, 300,000, 120,000 | 3.00x | 0.50x | 1.0 MB |" in table
    assert "| consume ours |" in table  # the breakdown
    assert "consume_vs_baseline 3.00x ≥ 6x: MISSED" in table
    assert "produce_vs_baseline 2.56x ≥ 2.5x: met" in table
    assert "Test CPU, 2 cores, 24 GiB" in table
    assert "; codec: native;" in table.splitlines()[0]
    assert "baseline: writes the same bytes as ours" in table


PAYMENTS = {  # a slower schema: every family at half the orders' rate, so every ratio is the same
    key: [rate / 2 for rate in series] for key, series in RATES.items()
}


def test_each_schema_has_its_own_figures_in_the_order_they_ran() -> None:
    report = _report(more=_samples(PAYMENTS, schema="payments"))
    assert list(report.schemas) == ["orders", "payments"]
    payments = report.schemas["payments"]
    assert payments.rate("consume", "ours") == pytest.approx(75_000)
    assert payments.us_per_message("produce", "floor") == pytest.approx(5.0)
    assert payments.ratios() == pytest.approx(report.schemas["orders"].ratios())
    assert set(report.to_json()["schemas"]) == {"orders", "payments"}


def test_the_summary_has_a_row_per_schema_with_micros_ratio_and_share_of_the_floor() -> None:
    table = render_table(_report(more=_samples(PAYMENTS, schema="payments")))
    # produce: ours 160k (6.25 µs), baseline 62.5k (16 µs), floor 400k (2.5 µs): 2.56x, the floor's 2.5 µs
    # over our 6.25 is 40 %; consume: 150k (6.67 µs), 50k (20 µs), 300k (3.33 µs): 3x, 50 %.
    assert "| orders | 6.25 / 16.00 / 2.50 | 2.56x | 40% | 6.67 / 20.00 / 3.33 | 3.00x | 50% |" in table
    assert "| payments | 12.50 / 32.00 / 5.00 | 2.56x | 40% | 13.33 / 40.00 / 6.67 | 3.00x | 50% |" in table
    assert table.index("| orders | 6.25") < table.index("### orders") < table.index("### payments")


def test_a_schema_the_baseline_cannot_take_says_why_and_has_no_baseline_ratios() -> None:
    without = {k: v for k, v in RATES.items() if not k.endswith("baseline")}
    report = _report(more=_samples(without, schema="odd"), problems={"odd": "TypeError: no"})
    odd = report.schemas["odd"]
    assert odd.baseline_problem == "TypeError: no"
    assert "consume_vs_baseline" not in odd.ratios() and "consume_vs_floor" in odd.ratios()
    table = render_table(report)
    assert "cannot take this schema (TypeError: no); no baseline figures" in table
    assert "| odd | 6.25 / - / 2.50 | - | 40% |" in table
    assert report.to_json()["schemas"]["odd"]["baseline_problem"] == "TypeError: no"


def _scale_out(one: list[float], two: list[float]) -> list[Sample]:
    return [
        Sample("orders-to-activity", SCALE_OUT, workers_family(workers), 1000, 1000 / rate)
        for workers, series in ((1, one), (2, two))
        for rate in series
    ]


def test_the_scale_out_is_reported_apart_from_the_schemas_with_its_ratio() -> None:
    report = _report(more=_scale_out([10_000, 12_000, 11_000], [15_000, 16_500, 18_000]))
    assert list(report.schemas) == ["orders"], "the pipeline is not a schema"
    assert report.scale_out is not None
    assert report.scale_out.pipeline == "orders-to-activity"
    assert report.scale_out.ratio() == pytest.approx(16_500 / 11_000)
    document = report.to_json()["scale_out"]
    assert document["msgs_per_s_median"] == {"workers_1": 11_000, "workers_2": 16_500}
    assert document["msgs_per_s_runs"]["workers_2"] == [15_000, 16_500, 18_000]
    assert document["workers_2_vs_workers_1"] == 1.5
    assert document["input_partitions"] == 2
    table = render_table(report)
    assert "| 1 | 11,000 | 90.91 | 10,000, 12,000, 11,000 |" in table
    assert "| 2 | 16,500 | 60.61 | 15,000, 16,500, 18,000 |" in table
    assert "2 workers run at 1.50x the throughput of 1" in table


def test_a_scale_out_with_one_worker_count_only_has_no_ratio() -> None:
    only = [s for s in _scale_out([10_000], [20_000]) if s.family == workers_family(1)]
    report = _report(more=only)
    assert report.scale_out is not None and report.scale_out.ratio() is None
    assert "run at" not in render_table(report).split("### scale-out")[1]


@given(
    one=st.lists(st.floats(1, 1e7), min_size=1, max_size=5),
    two=st.lists(st.floats(1, 1e7), min_size=1, max_size=5),
)
def test_the_scale_out_ratio_is_the_ratio_of_the_medians(one: list[float], two: list[float]) -> None:
    report = _report({}, more=_scale_out(one, two))
    assert report.scale_out is not None
    medians = [report.scale_out.figures[n].rate for n in (1, 2)]
    assert report.scale_out.ratio() == pytest.approx(medians[1] / medians[0], rel=1e-6)
    assert json.dumps(report.to_json())
