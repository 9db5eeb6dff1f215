"""Subset where-clauses: one boolean expression over the table's columns, calling only the
allowlisted functions, in each engine's dialect."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.errors import InvalidArgumentError
from services.engine.planning.where_allowlist import allowed_functions
from services.engine.planning.where_clause import MAX_NESTING, MAX_WHERE_CHARS, parse_where
from services.engine.schema import Column, Table, TypeFamily

ENGINES = ("postgres", "mysql", "sqlite")
FIELD = "job.source.subsets[0].where"

CUSTOMERS = Table(
    "public",
    "customers",
    (
        Column("id", "bigint", TypeFamily.INTEGER, False),
        Column("email", "text", TypeFamily.TEXT, False),
        Column("name", "text", TypeFamily.TEXT, True),
        Column("flags", "integer", TypeFamily.INTEGER, True),
        Column("created_at", "timestamp", TypeFamily.TEMPORAL, False),
    ),
    primary_key=("id",),
)


def refusal(where: str, engine: str) -> str:
    with pytest.raises(InvalidArgumentError) as raised:
        parse_where(CUSTOMERS, where, engine, FIELD)
    assert raised.value.field == FIELD
    return raised.value.description


# Accepted by every engine's dialect.
ACCEPTED = [
    "id < 100",
    "id <= 10 AND email LIKE '%@example.com' OR name IS NULL",
    "NOT (id BETWEEN 1 AND 5) AND id IN (7, 8, 9)",
    "lower(email) LIKE 'a%' AND upper(name) <> 'X'",
    "length(email) > 3 AND char_length(name) < 40",
    "substr(email, 1, 2) = 'ab' AND substring(name, 2, 3) = 'bcd'",
    "trim(name) = 'x' OR ltrim(name) = 'y' OR name || email = 'z'",
    "coalesce(name, email) = 'x' AND nullif(name, '') IS NOT NULL",
    "abs(id - 50) < 10 AND round(id / 3.0, 1) > 2 AND id % 2 = 0",
    "floor(id / 2) = ceil(id / 2) AND greatest(id, 3) = least(id, 9)",
    "created_at > date_add(current_date, interval 1 day) OR date(created_at) = '2005-05-01'",
    "CAST(id AS VARCHAR(10)) = '5'",
    "created_at < current_date",
    "created_at < current_timestamp",
    "flags & 4 = 4",
    "id > 0 AND CASE WHEN id > 10 THEN name IS NULL ELSE email IS NOT NULL END",
    "(id, flags) = (1, 2)",
    "name LIKE 'a!%' ESCAPE '!'",
    "customers.id = 1",
    " OR ".join(f"id = {i}" for i in range(500)),
    "id IN (" + ", ".join(str(i) for i in range(1000)) + ")",
    "id < 10 -- a trailing comment is dropped when the clause is written back",
]

# Accepted in one dialect: what that engine spells its own way.
ACCEPTED_IN = [
    ("postgres", "created_at > now() - interval '30 days'"),
    ("postgres", "extract(year FROM created_at) = 2005 AND concat(name, email) = 'y'"),
    ("postgres", "date_trunc('month', created_at) = '2005-05-01'"),
    ("postgres", "to_char(created_at, 'YYYY') = '2005' AND created_at::date = '2005-05-01'"),
    ("postgres", "strpos(email, '@') > 2 AND position('@' in email) > 2"),
    ("postgres", "name ILIKE 'a%' AND email IS DISTINCT FROM name"),
    ("mysql", "created_at > now() AND year(created_at) = 2005 AND month(created_at) = 5"),
    ("mysql", "extract(year FROM created_at) = 2005 AND concat(name, email) = 'y'"),
    ("mysql", "date_format(created_at, '%Y') = '2005' AND ifnull(name, '') = ''"),
    ("mysql", "created_at > date_sub(curdate(), interval 30 day)"),
    ("mysql", "instr(email, '@') > 2 AND id div 2 = 3"),
    ("sqlite", "created_at > datetime('now', '-30 days')"),
    ("sqlite", "strftime('%Y', created_at) = '2005' AND julianday(created_at) > 2450000"),
    ("sqlite", "date(created_at) = '2005-05-01' AND instr(email, '@') > 2"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("where", ACCEPTED)
def test_plain_clauses_are_accepted_in_every_dialect(engine: str, where: str) -> None:
    parse_where(CUSTOMERS, where, engine, FIELD)


@pytest.mark.parametrize(("engine", "where"), ACCEPTED_IN)
def test_each_dialect_spells_dates_its_own_way(engine: str, where: str) -> None:
    parse_where(CUSTOMERS, where, engine, FIELD)


# (clause, function the refusal names), refused by every engine's dialect.
REFUSED_FUNCTIONS = [
    ("length(repeat(email, 1000000)) > 0", "repeat"),
    ("lpad(email, 100000000) = ''", "lpad"),
    ("rpad(email, 100000000, 'x') = ''", "rpad"),
    ("pg_sleep(10) IS NULL", "pg_sleep"),
    ("sleep(10) = 0", "sleep"),
    ("benchmark(100000000, 1) = 0", "benchmark"),
    ("random() < 0.5", "random"),
    ("rand() < 0.5", "rand"),
    ("generate_series(1, 10) = id", "generate_series"),
    ("nextval('customers_id_seq') > id", "nextval"),
    ("pg_read_file('/etc/passwd') = email", "pg_read_file"),
    ("load_file('/etc/passwd') = email", "load_file"),
    ("current_setting('is_superuser') = 'on'", "current_setting"),
    ("set_config('work_mem', '1TB', false) = ''", "set_config"),
    ("txid_current() > 0", "txid_current"),
    ("regexp_replace(email, 'a', 'b') = ''", "regexp_replace"),
    ("power(id, 100000) > 0", "power"),
    ("count(*) > 1", "count"),
    ("max(id) > 1", "max"),
    ("md5(email) = 'x'", "md5"),
    ("no_such_function(id) = 1", "no_such_function"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("where", "function"), REFUSED_FUNCTIONS)
def test_other_functions_are_refused_by_name(engine: str, where: str, function: str) -> None:
    message = refusal(where, engine)
    assert message.startswith(
        f"function {function}() is not allowed in a subset where-clause; allowed: "
    ), message
    assert "lower, " in message and "coalesce" in message


def test_what_one_engine_lacks_is_refused_there_only() -> None:
    assert "function now()" in refusal("created_at > now()", "sqlite")
    assert "function datetime()" in refusal("created_at > datetime('now')", "mysql")
    assert "function concat()" in refusal("concat(name, email) = 'x'", "sqlite")
    assert "function initcap()" in refusal("initcap(name) = 'x'", "mysql")
    assert "function to_char()" in refusal("to_char(created_at, 'YYYY') = '2005'", "mysql")
    only = {"postgres": {"initcap", "btrim"}, "mysql": {"date_format"}, "sqlite": {"julianday"}}
    for engine, names in only.items():
        for other in ENGINES:
            assert (names <= set(allowed_functions(other))) == (other == engine), (engine, other)


# (engine, clause, words of the refusal): operators and forms outside the allowlist.
REFUSED_FORMS = [
    ("postgres", "email ~ 'a(b+)+c'", "regexplike"),
    ("postgres", "email SIMILAR TO '%a%'", "similarto"),
    ("postgres", "id = ANY(ARRAY[1, 2])", "is not allowed in a subset where-clause"),
    ("postgres", "id = $1", "parameter"),
    ("postgres", "id = %s", "placeholder"),
    ("mysql", "id = ?", "placeholder"),
    ("postgres", "id::regclass IS NULL", "is not allowed"),
    ("postgres", "CAST(id AS posint) = 1", "user-defined type"),
    ("postgres", "row_number() OVER () > 1", "window"),
]


@pytest.mark.parametrize(("engine", "where", "words"), REFUSED_FORMS)
def test_other_operators_are_refused(engine: str, where: str, words: str) -> None:
    assert words in refusal(where, engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("id < 10; DROP TABLE customers", "not several statements"),
        ("1=1; DELETE FROM customers", "not several statements"),
        ("id IN (SELECT id FROM orders)", "subqueries"),
        ("EXISTS (SELECT 1)", "subqueries"),
        ("42", "one boolean expression"),
        ("id <", "not a valid SQL expression"),
        ("email = 'unterminated", "not a valid SQL expression"),
        ("id < 1 /* unterminated", "not a valid SQL expression"),
        ("nope = 1", "column 'nope' does not exist"),
        ("orders.id = 1", "is not a column of public.customers"),
        ("(" * 60 + "id = 1" + ")" * 60, f"nested more than {MAX_NESTING} levels"),
        ("NOT " * 200 + "id = 1", f"nested more than {MAX_NESTING} levels"),
        ("lower(" * 40 + "email" + ")" * 40 + " = 'x'", f"nested more than {MAX_NESTING}"),
        ("id = 1 OR " * 1200 + "id = 2", f"at most {MAX_WHERE_CHARS:,} are allowed"),
    ],
)
def test_what_is_not_one_checked_expression_is_refused(engine: str, where: str, words: str) -> None:
    assert words in refusal(where, engine)


FORBIDDEN = ["repeat(email, 1000)", "pg_sleep(1)", "random()", "md5(email)", "lpad(email, 9)"]
WRAPPERS = ["lower({})", "upper({})", "trim({})", "coalesce({}, '')", "substr({}, 1, 3)"]


@given(
    st.lists(st.sampled_from(WRAPPERS), max_size=6),
    st.one_of(st.none(), st.sampled_from(FORBIDDEN)),
    st.sampled_from(ENGINES),
)
def test_a_clause_is_refused_exactly_when_it_calls_a_refused_function(
    wrappers: list[str], forbidden: str | None, engine: str
) -> None:
    inner = forbidden or "email"
    for wrapper in wrappers:
        inner = wrapper.format(inner)
    where = f"{inner} = 'x' AND id > 0"
    if forbidden is None:
        parse_where(CUSTOMERS, where, engine, FIELD)
    else:
        name = forbidden.partition("(")[0]
        assert refusal(where, engine).startswith(f"function {name}()")
