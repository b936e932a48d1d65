"""The benchmark's arithmetic and report (pipeline.app.bench.report): medians, ratios, targets and JSON keys.
Samples are made up; nothing here measures or asserts a time."""

from __future__ import annotations

import json

import pytest

from pipeline.app.bench.report import TARGETS, BenchReport, Machine, Sample, render_table, summarise

MACHINE = Machine(cpu="Test CPU", cores=2, memory_gib=24.0, system="Linux", python="3.11", date="2026-11-27")
MB = 1024 * 1024


def _samples(rates: dict[str, list[float]], rss_mb: float = 1.0) -> list[Sample]:
    """Samples of 1000 messages each, with the given rates (msgs/s) per ``phase_family``."""
    found = []
    for key, series in rates.items():
        phase, family = key.split("_")
        found.extend(Sample(phase, family, 1000, 1000 / rate, int(rss_mb * MB)) for rate in series)
    return found


RATES = {
    "produce_floor": [400_000, 380_000, 420_000],
    "produce_baseline": [100_000, 90_000, 110_000],
    "produce_ours": [160_000, 150_000, 170_000],
    "consume_floor": [300_000, 310_000, 290_000],
    "consume_baseline": [50_000, 40_000, 60_000],
    "consume_ours": [150_000, 300_000, 120_000],  # a noisy series: the median is 150 000
    "encode_baseline": [200_000] * 3,
    "encode_ours": [500_000] * 3,
    "decode_baseline": [60_000] * 3,
    "decode_ours": [300_000] * 3,
}


def _report(rates: dict[str, list[float]] = RATES, rss_mb: float = 1.0) -> BenchReport:
    return summarise(
        _samples(rates, rss_mb),
        count=1000,
        repeat=3,
        batch_size=500,
        machine=MACHINE,
        run_rss_growth_bytes=5 * MB,
    )


def test_figures_are_medians_of_the_repetitions_in_phase_then_family_order() -> None:
    report = _report()
    assert list(report.figures) == list(RATES)
    assert report.rate("consume", "ours") == pytest.approx(150_000)
    assert report.figures["consume_ours"].rates == pytest.approx((150_000, 300_000, 120_000))
    assert report.figures["produce_floor"].us_per_message == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("key", "expected", "reason"),
    [
        ("consume_vs_baseline", 3.0, "150k over 50k"),
        ("consume_vs_floor", 0.5, "150k over 300k"),
        ("produce_vs_baseline", 1.6, "160k over 100k"),
        ("produce_vs_floor", 0.4, "160k over 400k"),
        ("encode_vs_baseline", 2.5, "codec alone, no floor for it"),
        ("decode_vs_baseline", 5.0, "codec alone"),
    ],
)
def test_ratios_are_ours_over_the_other_family(key: str, expected: float, reason: str) -> None:
    assert _report().ratios()[key] == pytest.approx(expected), reason


def test_codec_phases_have_no_floor_ratio() -> None:
    assert "encode_vs_floor" not in _report().ratios()


def test_targets_are_judged_on_the_medians_and_on_our_rss() -> None:
    met = _report().targets_met()
    assert met == {
        "consume_vs_baseline": False,  # 3.0 < 4
        "produce_vs_baseline": True,  # 1.6 >= 1.5
        "rss_growth_mb": True,  # 1 MB
        "consume_vs_floor": True,  # 0.5 >= 0.5
        "produce_vs_floor": False,  # 0.4 < 0.5
    }
    assert _report(rss_mb=60).targets_met()["rss_growth_mb"] is False
    assert set(met) == set(TARGETS)


def test_breakdown_splits_each_message_into_transport_codec_and_the_rest() -> None:
    parts = _report().breakdown()["consume_ours"]
    assert parts["total_us"] == pytest.approx(1e6 / 150_000, abs=1e-3)
    assert parts["transport_us"] == pytest.approx(1e6 / 300_000, abs=1e-3)
    assert parts["codec_us"] == pytest.approx(1e6 / 300_000, abs=1e-3)
    assert parts["other_us"] == pytest.approx(
        parts["total_us"] - parts["transport_us"] - parts["codec_us"], abs=2e-3
    )


def test_json_keys_say_what_they_are_and_the_document_serialises() -> None:
    document = _report().to_json()
    json.dumps(document)
    for key in ("consume_vs_baseline", "consume_vs_floor", "produce_vs_baseline", "produce_vs_floor"):
        assert key in document
    assert document["msgs_per_s_median"]["consume_ours"] == 150_000
    assert document["msgs_per_s_runs"]["consume_ours"] == [150_000, 300_000, 120_000]
    assert document["rss_growth_mb_max"]["produce_ours"] == 1.0
    assert document["run_rss_growth_mb"] == 5.0
    assert document["machine"]["cores"] == 2
    assert document["targets_met"]["produce_vs_baseline"] is True
    assert document["spread_fraction"]["consume_ours"] == pytest.approx(
        (300_000 - 120_000) / 150_000, abs=1e-3
    )


def test_a_missing_family_gives_no_ratio_rather_than_a_division_by_zero() -> None:
    report = _report({"consume_ours": [100_000], "consume_floor": [200_000]})
    assert report.ratios() == {"consume_vs_floor": pytest.approx(0.5)}
    assert "consume_vs_baseline" not in report.targets_met()


def test_the_table_shows_every_figure_the_breakdown_and_the_verdicts() -> None:
    table = render_table(_report())
    assert "| consume | ours | 150,000 | 6.67 | 150,000, 300,000, 120,000 | 3.00x | 0.50x | 1.0 MB |" in table
    assert "| consume ours |" in table  # the breakdown
    assert "consume_vs_baseline 3.00x ≥ 4x: MISSED" in table
    assert "produce_vs_baseline 1.60x ≥ 1.5x: met" in table
    assert "Test CPU, 2 cores, 24 GiB" in table
