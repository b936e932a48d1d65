"""The scale-out phase's pure parts (pipeline.app.bench.scale_out): the catalog it hands ``pipeline worker``
and how it reads the workers' last report lines."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from pipeline.app.bench.scale_out import final_reports, scale_out_catalog
from pipeline.errors import ConfigError
from pipeline.schema import Catalog, load_catalog

SHIPPED = Path(__file__).resolve().parents[3] / "schemas"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(SHIPPED)


def _written(tmp_path: Path, catalog: Catalog, runs: list[str], partitions: int) -> Catalog:
    folder = tmp_path / "schemas"
    shutil.copytree(SHIPPED, folder)
    spec = catalog.pipeline("orders-to-activity")
    text = scale_out_catalog((folder / "catalog.toml").read_text(), catalog, spec, runs, partitions)
    (folder / "catalog.toml").write_text(text)
    return load_catalog(folder)


@pytest.mark.parametrize(
    ("runs", "reason"),
    [
        (["bench-1a2b-scale-out-r1-w1", "bench-1a2b-scale-out-r1-w2"], "as the benchmark names them"),
        (["a"], "one run, a short name"),
        (["x.y_z-r1", "x.y_z-r2", "x.y_z-r3"], "dots and underscores, as Kafka allows"),
    ],
)
def test_the_catalog_declares_the_pipeline_again_per_run_on_topics_of_its_own(
    tmp_path: Path, catalog: Catalog, runs: list[str], reason: str
) -> None:
    written = _written(tmp_path, catalog, runs, 2)
    spec, orders = catalog.pipeline("orders-to-activity"), catalog.topic("orders")

    def described(c: Catalog) -> list[tuple[str, int, tuple[str, ...]]]:
        return [(t.name, t.partitions, tuple(s.subject for s in t.values)) for t in c.topics]

    assert described(written)[: len(catalog.topics)] == described(catalog), reason
    assert written.pipelines[0] == spec, "the catalog's own pipeline is untouched"
    for name in runs:
        declared = written.pipeline(name)
        assert declared == dataclasses.replace(
            spec, name=name, input=f"{name}-in", output=f"{name}-out", group=name
        )
        source = written.topic(f"{name}-in")
        assert source.partitions == 2
        assert [v.full_name for v in source.values] == [v.full_name for v in orders.values]
        assert source.key_type == orders.key_type and source.strategy == orders.strategy
        output = written.topic(f"{name}-out")
        assert output.value.full_name == "com.example.activity.CustomerActivity"
        assert output.value.subject == f"{name}-out-value"
        assert output.partitions == catalog.topic("customer-activity").partitions


def test_a_pipeline_without_output_is_refused(catalog: Catalog) -> None:
    spec = dataclasses.replace(catalog.pipeline("orders-to-activity"), output=None)
    with pytest.raises(ConfigError, match="has no output topic"):
        scale_out_catalog("", catalog, spec, ["a"], 2)


def test_final_reports_keep_each_instance_last_line_of_this_pipeline_only() -> None:
    def line(pipeline: str, instance: int, inputs: int) -> str:
        return json.dumps({"pipeline": pipeline, "instance": instance, "inputs": inputs, "dlq": 0})

    stderr = "\n".join(
        [
            "pipeline p[0]: in -> out in group p, exactly once",
            line("p", 0, 10),
            line("p", 1, 5),
            "{not json",
            line("other", 0, 99),
            line("p", 0, 700),
            '["a list"]',
        ]
    )
    reports = final_reports(stderr, "p")
    assert {i: r["inputs"] for i, r in reports.items()} == {0: 700, 1: 5}
    assert final_reports("", "p") == {}
