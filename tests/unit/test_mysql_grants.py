"""Reading a MySQL/MariaDB account's table privileges from the lines of its SHOW GRANTS."""

from services.engine.connectors.mysql.grants import Grant, Grants, parse_grant

# As MariaDB 10.11 prints them for an account with a default role (the role's grants follow
# the account's own), and as MySQL 8 prints a partial revoke.
MARIADB = [
    "GRANT `qa_writer` TO `vs`@`%`",
    "GRANT PROCESS ON *.* TO `vs`@`%` IDENTIFIED BY PASSWORD '*D821809F681A40A6E379B50D04'",
    r"GRANT SELECT ON `qa\_%`.* TO `vs`@`%`",
    "GRANT SELECT (`v`), INSERT (`id`, `v`) ON `qa_1`.`partial` TO `vs`@`%`",
    "GRANT ALL PRIVILEGES ON `archive`.`orders` TO `vs`@`%`",
    "GRANT EXECUTE ON PROCEDURE `qa_1`.`refresh` TO `vs`@`%`",
    "GRANT PROXY ON ''@'%' TO 'vs'@'%' WITH GRANT OPTION",
    "GRANT USAGE ON *.* TO `qa_writer`",
    "GRANT INSERT, UPDATE, DROP ON `qa_1`.* TO `qa_writer`",
    "SET DEFAULT ROLE `qa_writer` FOR `vs`@`%`",
]


def _grants(lines: list[str], **how: bool) -> Grants:
    return Grants(tuple(g for g in map(parse_grant, lines) if g is not None), **how)


def test_lines_granting_no_table_privilege_are_left_out() -> None:
    assert [parse_grant(line) is None for line in MARIADB] == [
        True,
        False,
        False,
        False,
        False,
        True,
        True,
        False,
        False,
        True,
    ]


def test_levels_names_and_column_lists_are_read() -> None:
    assert parse_grant(MARIADB[1]) == Grant(frozenset({"PROCESS"}), grantee="`vs`@`%`")
    assert parse_grant(MARIADB[2]) == Grant(frozenset({"SELECT"}), r"qa\_%", None, "`vs`@`%`")
    # Privileges on some columns only are not table privileges.
    assert parse_grant(MARIADB[3]) == Grant(frozenset(), "qa_1", "partial", "`vs`@`%`")
    assert parse_grant("GRANT SELECT, DELETE HISTORY ON TABLE `a``b`.`t` TO u") == Grant(
        frozenset({"SELECT", "DELETE HISTORY"}), "a`b", "t", "u"
    )
    role = parse_grant(MARIADB[8])
    assert role is not None and role.grantee == "`qa_writer`"
    all_of_them = parse_grant(MARIADB[4])
    assert all_of_them is not None and "ALL" in all_of_them.privileges


def test_global_database_pattern_role_and_table_grants_all_count() -> None:
    grants = _grants(MARIADB)
    assert grants.missing([("qa_1", "orders")], ["SELECT", "INSERT", "UPDATE", "TRUNCATE"]) == []
    # The escaped pattern qa\_% matches qa_1 but not qa1; the role's grants stop at qa_1.
    assert grants.missing([("qa1", "orders")], ["SELECT", "INSERT"]) == [
        ("SELECT", "qa1.orders"),
        ("INSERT", "qa1.orders"),
    ]
    assert grants.missing([("qa_2", "orders")], ["SELECT", "INSERT"]) == [("INSERT", "qa_2.orders")]
    assert grants.missing([("archive", "orders"), ("archive", "items")], ["TRUNCATE"]) == [
        ("TRUNCATE", "archive.items")
    ]


def test_truncate_is_the_drop_privilege() -> None:
    grants = _grants(["GRANT INSERT, DELETE ON `qa`.* TO `vs`@`%`"])
    assert grants.missing([("qa", "t")], ["INSERT", "TRUNCATE"]) == [("TRUNCATE", "qa.t")]
    assert _grants(["GRANT DROP ON `qa`.`t` TO vs"]).missing([("qa", "t")], ["TRUNCATE"]) == []


def test_an_unescaped_underscore_is_a_wildcard() -> None:
    grants = _grants(["GRANT SELECT ON `qa_`.* TO vs"])
    assert grants.missing([("qa1", "t"), ("qa", "t")], ["SELECT"]) == [("SELECT", "qa.t")]


def test_partial_revokes_take_back_a_global_privilege_and_make_names_literal() -> None:
    lines = [
        "GRANT SELECT, INSERT ON *.* TO `vs`@`%`",
        "GRANT UPDATE ON `qa_`.* TO `vs`@`%`",
        "REVOKE INSERT ON `prod`.* FROM `vs`@`%`",
    ]
    grants = _grants(lines, wildcards=False)
    assert grants.missing([("prod", "t"), ("qa", "t")], ["SELECT", "INSERT"]) == [
        ("INSERT", "prod.t")
    ]
    assert grants.missing([("qa1", "t"), ("qa_", "t")], ["UPDATE"]) == [("UPDATE", "qa1.t")]


def test_names_compare_by_case_only_where_the_server_folds_them() -> None:
    lines = ["GRANT INSERT ON `QA`.`Orders` TO vs", "GRANT SELECT ON `QA`.* TO vs"]
    assert _grants(lines).missing([("qa", "orders")], ["SELECT", "INSERT"]) == [
        ("SELECT", "qa.orders"),
        ("INSERT", "qa.orders"),
    ]
    assert _grants(lines, fold_case=True).missing([("qa", "orders")], ["SELECT", "INSERT"]) == []


def test_of_one_grantee_only_the_most_specific_matching_database_grant_counts() -> None:
    # What MariaDB did with exactly these grants: UPDATE allowed, SELECT and INSERT refused.
    lines = [
        r"GRANT UPDATE ON `vs\_probe\_db`.* TO `dbg`@`%`",
        "GRANT INSERT ON `vs_probe_db`.* TO `dbg`@`%`",
        r"GRANT SELECT ON `vs\_probe\_%`.* TO `dbg`@`%`",
    ]
    grants = _grants(lines)
    assert grants.missing([("vs_probe_db", "t")], ["SELECT", "INSERT", "UPDATE"]) == [
        ("SELECT", "vs_probe_db.t"),
        ("INSERT", "vs_probe_db.t"),
    ]
    # Another database matching only the pattern gets the pattern's grant.
    assert grants.missing([("vs_probe_2", "t")], ["SELECT"]) == []
    # A role's grants add to the account's, whatever their specificity.
    with_role = _grants([*lines, "GRANT INSERT ON `vs%`.* TO `writer`"])
    assert with_role.missing([("vs_probe_db", "t")], ["INSERT"]) == []
