"""OpenTelemetry SDK spans and metric points as plain data, comparable across processes."""
from __future__ import annotations

from typing import Any


def dump_spans(exporter: Any) -> list[dict[str, Any]]:
    return [{
        "name": s.name,
        "kind": s.kind.name,
        "trace_id": format(s.context.trace_id, "032x"),
        "span_id": format(s.context.span_id, "016x"),
        "parent_id": format(s.parent.span_id, "016x") if s.parent else None,
        "attributes": dict(s.attributes or {}),
        "links": [format(link.context.span_id, "016x") for link in s.links],
        "status": s.status.status_code.name,
        "events": [e.name for e in s.events],
    } for s in exporter.get_finished_spans()]


def dump_metrics(reader: Any) -> dict[str, list[dict[str, Any]]]:
    """Histogram points by metric name: their attributes and count."""
    found: dict[str, list[dict[str, Any]]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(
                    {"attributes": dict(p.attributes), "count": p.count, "sum": p.sum} for p in metric.data.data_points)
    return found
