"""Reading a Prometheus text exposition with the Prometheus client's own parser, as Prometheus would.

Test-only code; like the rest of ``tests.support`` it never imports ``ferry``.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Samples:
    """One scrape: (sample name, labels) → value. Counters appear as ``<name>_total``, histograms as
    ``<name>_bucket``, ``_count`` and ``_sum``."""

    values: dict[tuple[str, frozenset[tuple[str, str]]], float]

    @classmethod
    def parse(cls, text: str) -> Samples:
        return cls(
            {
                (sample.name, frozenset(sample.labels.items())): sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
            }
        )

    def __call__(self, name: str, **labels: str) -> float:
        """The sample's value; 0 when the series is absent (as ``increase()`` treats a new series)."""
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def has(self, name: str, **labels: str) -> bool:
        return (name, frozenset(labels.items())) in self.values

    def label_values(self, name: str, label: str) -> list[str]:
        return [dict(labels)[label] for sample, labels in self.values if sample == name]
