"""The code transformer's sandbox: what it evaluates and what it refuses before any run."""

import pyarrow as pa
import pytest

from services.common.errors import DataRejectedError, InvalidArgumentError
from services.engine.transformers import build_transformer, validate_transformer
from services.engine.transformers import expression as expression_module
from services.engine.transformers.sandbox import ExpressionError, compile_expression, namespace
from veilsync.v1 import transformer_pb2 as t

KEY = b"expression-test-key-0123456789"


def _eval(code: str, value: str | None = "hello", row: dict[str, str] | None = None) -> object:
    names = {**namespace(b"k" * 32), "value": value, "row": row or {}}
    return compile_expression(code).evaluate(names)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('upper(value[:1]) + "***"', "H***"),
        ("len(value) * 2", 10),
        ("value[::-1]", "olleh"),
        ('value if row["country"] == "US" else None', "hello"),
        ('replace(value, "l", "L")', "heLLo"),
        ("2 ** 10", 1024),
        ('coalesce(None, "x")', "x"),
        ('join("-", split("a b c"))', "a-b-c"),
        ('"ell" in value and not startswith(value, "x")', True),
        ("round(float('2.567'), 1)", 2.6),
        ("left(value, 2) + right(value, 1)", "heo"),
    ],
)
def test_allowed_expressions(code: str, expected: object) -> None:
    assert _eval(code, row={"country": "US"}) == expected


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("__import__('os')", "'_'"),
        ("open('/etc/passwd')", "unknown name 'open'"),
        ("().__class__.__bases__", "attribute access"),
        ("value.upper()", "attribute access"),
        ("2 ** 100000", "exponents"),
        ("eval('1')", "unknown name 'eval'"),
        ("exec('import os')", "unknown name 'exec'"),
        ("getattr(value, 'x')", "unknown name 'getattr'"),
        ("[c for c in value]", "comprehensions"),
        ("lambda: 1", "lambda"),
        ("f'{value:>999999999}'", "f-strings"),
        ("row['a'](1)", "listed functions"),
        ("str(value, encoding='x')", "keyword"),
        ("b'bytes'", "bytes literals"),
        ("'__class__'", "'__'"),
        ("import os", "not a valid expression"),
        ("", "empty"),
        ("x" * 3000, "longer than"),
    ],
)
def test_refused_expressions(code: str, words: str) -> None:
    with pytest.raises(ExpressionError, match=None) as caught:
        compile_expression(code)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "code",
    ['"a" * 10 ** 9', "9 ** 9 ** 9", 'replace(value, "", "x" * 1000)', '"%0999999999d" % 1'],
)
def test_growth_is_bounded_at_run_time(code: str) -> None:
    with pytest.raises(ExpressionError):
        _eval(code, value="y" * 50_000)


def test_run_time_errors_never_quote_the_value() -> None:
    with pytest.raises(ExpressionError) as caught:
        _eval("int(value)", value="secret-ssn-123")
    assert "secret" not in str(caught.value)


def test_validation_names_column_and_option() -> None:
    config = t.TransformerConfig(transform_expression=t.TransformExpression(code="open('x')"))
    with pytest.raises(InvalidArgumentError) as caught:
        validate_transformer(config, "job.mappings[0].columns[email]")
    assert caught.value.field == "job.mappings[0].columns[email].transform_expression.code"


def test_transformer_reads_the_row_and_keeps_nulls() -> None:
    code = 'value + "@" + lower(row["country"]) if value else None'
    config = t.TransformerConfig(transform_expression=t.TransformExpression(code=code))
    transformer = build_transformer(config, KEY)
    batch = pa.record_batch(
        {"name": ["ann", None, "bo"], "country": ["US", "NO", None], "id": [1, 2, 3]}
    )
    out = transformer.transform_in(batch, batch.column(0))
    assert out.to_pylist() == ["ann@us", None, "bo@"]


def test_keyed_hash_is_deterministic_per_key() -> None:
    config = t.TransformerConfig(transform_expression=t.TransformExpression(code="hash(value, 12)"))
    values = pa.array(["a", "b"])
    first = build_transformer(config, KEY).transform(values).to_pylist()
    assert first == build_transformer(config, KEY).transform(values).to_pylist()
    assert (
        first != build_transformer(config, b"another-key-0123456789").transform(values).to_pylist()
    )
    assert all(len(v) == 12 for v in first)


def test_a_slow_batch_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expression_module, "BATCH_BUDGET_SECONDS", -1.0)
    config = t.TransformerConfig(transform_expression=t.TransformExpression(code="value"))
    with pytest.raises(DataRejectedError, match="took over"):
        build_transformer(config, KEY).transform(pa.array(["a"]))
