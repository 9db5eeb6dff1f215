"""Which table privileges the connected MySQL or MariaDB account holds, read from its own
SHOW GRANTS.

Not information_schema's USER_/SCHEMA_/TABLE_PRIVILEGES: they list the grants made to the
account itself and leave out those of its active roles. SHOW GRANTS needs no privilege for
the current account and, on MariaDB, lists the active role's grants (nested roles included);
MySQL 8 lists them when asked with USING.

A grantee (the account, or one of its roles) holds a privilege on a table when it is granted
on *.* (and not partially revoked for the database), on the table itself, or by the one
database-level grant the server picks for the database: of the grants whose name or pattern
matches it, the most specific (no wildcard, else the latest first wildcard), never the union
of all. ALL PRIVILEGES holds every privilege. Column-level grants do not count, as with
PostgreSQL's has_table_privilege."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The privileges MySQL checks for the engine-neutral names the engine asks about.
_GRANTED_AS = {"TRUNCATE": "DROP", "TEMPORARY": "CREATE TEMPORARY TABLES"}

_TOKEN = re.compile(r"`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|[\w$]+|\S")


@dataclass(frozen=True)
class Grant:
    """One GRANT (or MySQL partial REVOKE) line, at one level."""

    privileges: frozenset[str]  # upper case; "ALL" for ALL PRIVILEGES
    database: str | None = None  # None: *.*; without `table`, a pattern (% and _, \-escaped)
    table: str | None = None
    grantee: str = ""  # as SHOW GRANTS quotes it: `user`@`host` or `role`
    revoke: bool = False  # takes a global privilege back for one database

    def has(self, privilege: str) -> bool:
        return privilege in self.privileges or "ALL" in self.privileges


def _name(token: str) -> str:
    return token[1:-1].replace("``", "`") if token.startswith("`") else token


def parse_grant(line: str) -> Grant | None:
    """One line of SHOW GRANTS; None for one granting no table privilege (a role, PROXY, a
    routine)."""
    tokens = _TOKEN.findall(line)
    if not tokens or tokens[0].upper() not in ("GRANT", "REVOKE"):
        return None
    privileges: set[str] = set()
    words: list[str] = []
    depth, i = 0, 1
    while i < len(tokens) and not (depth == 0 and tokens[i].upper() == "ON"):
        token = tokens[i]
        if token == "(":  # a column list: the privilege is column-level only
            depth, words = depth + 1, []
        elif token == ")":
            depth -= 1
        elif token == "," and depth == 0:
            privileges.add(" ".join(words))
            words = []
        elif depth == 0:
            words.append(token.upper())
        i += 1
    privileges.add(" ".join(words))
    privileges.discard("")
    level = tokens[i + 1 :]
    if level and level[0].upper() == "TABLE":
        level = level[1:]
    if len(level) < 5 or level[1] != "." or level[3].upper() not in ("TO", "FROM"):
        return None  # no ON (a role granted), a routine, or a PROXY grant to a user
    if privileges & {"ALL PRIVILEGES", "ALL"}:
        privileges.add("ALL")
    grantee = "".join(level[4:7] if level[5:6] == ["@"] else level[4:5])
    revoke = tokens[0].upper() == "REVOKE"
    if level[0] == "*":
        return Grant(frozenset(privileges), grantee=grantee, revoke=revoke)
    table = None if level[2] == "*" else _name(level[2])
    return Grant(frozenset(privileges), _name(level[0]), table, grantee, revoke)


def _pattern(database: str, wildcards: bool, fold_case: bool) -> re.Pattern[str]:
    parts, escaped = [], False
    for char in database:
        if char == "\\" and not escaped:
            escaped = True
            continue
        wild = wildcards and not escaped and char in "%_"
        parts.append((".*" if char == "%" else ".") if wild else re.escape(char))
        escaped = False
    return re.compile("".join(parts), re.IGNORECASE if fold_case else 0)


def _specificity(database: str, wildcards: bool) -> int:
    """How the server ranks database-level grants (get_sort in its ACL code): a name with no
    wildcard first, then by the position of the first wildcard, later first."""
    i = 0
    while i < len(database):
        if database[i] == "\\" and i + 1 < len(database):
            i += 2
            continue
        if wildcards and database[i] in "%_":
            return min(i + 1, 127)
        i += 1
    return 128


@dataclass(frozen=True)
class Grants:
    """An account's grants and how the server reads them."""

    grants: tuple[Grant, ...]
    wildcards: bool = True  # % and _ in database grants match (not with partial_revokes)
    fold_case: bool = False  # lower_case_table_names: names compare case-insensitively

    def holds(self, privilege: str, database: str, table: str) -> bool:
        needed = _GRANTED_AS.get(privilege, privilege)
        grantees = {g.grantee for g in self.grants}
        return any(
            self._holds([g for g in self.grants if g.grantee == grantee], needed, database, table)
            for grantee in grantees
        )

    def _holds(self, grants: Sequence[Grant], needed: str, database: str, table: str) -> bool:
        def same(a: str | None, b: str) -> bool:
            return a is not None and (a.lower() == b.lower() if self.fold_case else a == b)

        granted = [g for g in grants if not g.revoke]
        revoked = any(g.revoke and g.has(needed) and same(g.database, database) for g in grants)
        if not revoked and any(g.database is None and g.has(needed) for g in granted):
            return True
        if any(
            same(g.database, database) and same(g.table, table) and g.has(needed)
            for g in granted
            if g.table is not None
        ):
            return True
        matching = [
            (_specificity(g.database, self.wildcards), g)
            for g in granted
            if g.database is not None
            and g.table is None
            and _pattern(g.database, self.wildcards, self.fold_case).fullmatch(database)
        ]
        best = max((rank for rank, _ in matching), default=None)
        return any(g.has(needed) for rank, g in matching if rank == best)

    def missing(
        self, tables: Sequence[tuple[str, str]], privileges: Sequence[str]
    ) -> list[tuple[str, str]]:
        return [
            (privilege, f"{database}.{table}")
            for database, table in tables
            for privilege in privileges
            if not self.holds(privilege, database, table)
        ]


def read_grants(cursor: Any) -> Grants:
    """The grants of the account `cursor` is connected as, its active roles' included."""
    cursor.execute(
        "SHOW VARIABLES WHERE Variable_name IN "
        "('version', 'lower_case_table_names', 'partial_revokes')"
    )
    variables = {str(name): str(value) for name, value in cursor.fetchall()}
    statement = "SHOW GRANTS"
    if "mariadb" not in variables.get("version", "").lower():
        cursor.execute("SELECT CURRENT_ROLE()")
        row = cursor.fetchone()
        roles = str(row[0]) if row and row[0] else "NONE"
        if roles != "NONE":  # the server's own list of quoted names, such as `qa`@`%`
            statement = f"SHOW GRANTS FOR CURRENT_USER() USING {roles}"
    cursor.execute(statement)
    grants = [parse_grant(str(row[0])) for row in cursor.fetchall()]
    return Grants(
        tuple(g for g in grants if g is not None),
        wildcards=variables.get("partial_revokes", "OFF").upper() not in ("ON", "1"),
        fold_case=variables.get("lower_case_table_names", "0") != "0",
    )
