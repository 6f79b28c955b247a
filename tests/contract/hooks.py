"""Schemathesis hooks for the Writer API contract run (tests/contract/run.sh).

One rule of the API cannot be written in JSON Schema: in parameter data,
every column has exactly as many values as `timestamps` (the server answers
400 naming the column otherwise, as the OpenAPI description says). Generated
bodies are fitted to that rule, so the run checks everything else both ways.
"""

import schemathesis

COLUMNS = ("numericValues", "stringValues", "binaryValues", "tagValues")


@schemathesis.hook
def map_case(context, case):
    if not case.operation.path.endswith("/parameters/data"):
        return case
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("timestamps"), list):
        return case
    rows = len(body["timestamps"])
    for kind in COLUMNS:
        columns = body.get(kind)
        if not isinstance(columns, dict):
            continue
        for name, values in columns.items():
            if isinstance(values, list) and len(values) != rows:
                columns[name] = (values + [None] * rows)[:rows]
    return case
