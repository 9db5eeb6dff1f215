"""A small "shop" database full of PII, for the demo and the end-to-end tests.

Values come from Faker's word lists, loaded once, combined with NumPy random choices:
calling Faker once per row would make a few thousand rows take seconds.
"""

import datetime as dt
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg
from faker.providers.internet.en_US import Provider as InternetWords
from faker.providers.person.en_US import Provider as PersonWords

TABLES = ("public.customers", "public.orders", "public.order_items")

# (table, column, referenced table): every foreign key, the self-reference included.
FOREIGN_KEYS = (
    ("customers", "referred_by", "customers"),
    ("orders", "customer_id", "customers"),
    ("order_items", "order_id", "orders"),
)

_POSTGRES_DDL = """
CREATE TABLE customers (
    id integer PRIMARY KEY,
    first_name text NOT NULL,
    last_name text NOT NULL,
    email text NOT NULL UNIQUE,
    ssn text,
    phone text,
    referred_by integer REFERENCES customers (id),
    created_at timestamptz NOT NULL
);
CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    status text NOT NULL,
    total numeric(12, 2) NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE order_items (
    id integer PRIMARY KEY,
    order_id integer NOT NULL REFERENCES orders (id),
    sku text NOT NULL,
    quantity integer NOT NULL,
    price numeric(12, 2) NOT NULL
);
"""

# SQLite has no timestamptz or numeric(p, s); these are the closest honest types.
_SQLITE_DDL = (
    _POSTGRES_DDL.replace("timestamptz", "timestamp")
    .replace("numeric(12, 2)", "decimal(12, 2)")
    .replace("integer PRIMARY KEY", "integer PRIMARY KEY NOT NULL")
)

_STATUSES = np.array(["pending", "paid", "shipped", "delivered", "cancelled"])


@dataclass(frozen=True)
class Shop:
    """Rows per table, in column order; ids start at 1."""

    columns: dict[str, tuple[str, ...]]
    rows: dict[str, list[tuple[Any, ...]]]

    def count(self, table: str) -> int:
        return len(self.rows[table])


def build_shop(
    customers: int = 300, orders: int = 1000, items: int = 3000, seed: int = 20240601
) -> Shop:
    """A reproducible shop: every order has at least one item and totals add up."""
    if items < orders:
        raise ValueError("every order needs at least one item")
    rng = np.random.default_rng(seed)
    first_names = np.array(list(PersonWords.first_names))
    last_names = np.array(list(PersonWords.last_names))
    domains = np.array(list(InternetWords.free_email_domains))
    epoch = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)

    ids = np.arange(1, customers + 1)
    first = rng.choice(first_names, customers)
    last = rng.choice(last_names, customers)
    domain = rng.choice(domains, customers)
    ssn = rng.integers(100_000_000, 899_999_999, customers)
    phone = rng.integers(200_000_0000, 999_999_9999, customers)
    # About a third were referred by an earlier customer: a nullable self-reference.
    referred = rng.random(customers) < 0.33
    referrer = (rng.random(customers) * (ids - 1)).astype(int) + 1
    joined = rng.integers(0, 365 * 24 * 3600, customers)
    customer_rows = [
        (
            int(i),
            str(f),
            str(la),
            f"{f.lower()}.{la.lower()}{i}@{d}",
            f"{s // 1_000_000:03d}-{s // 10_000 % 100:02d}-{s % 10_000:04d}",
            f"+1-{p // 10_000_000:03d}-{p // 10_000 % 1000:03d}-{p % 10_000:04d}",
            int(r) if ref and i > 1 else None,
            epoch + dt.timedelta(seconds=int(j)),
        )
        for i, f, la, d, s, p, ref, r, j in zip(
            ids, first, last, domain, ssn, phone, referred, referrer, joined, strict=True
        )
    ]

    order_customer = rng.integers(1, customers + 1, orders)
    order_status = rng.choice(_STATUSES, orders)
    order_time = rng.integers(365 * 24 * 3600, 2 * 365 * 24 * 3600, orders)
    item_order = np.concatenate(
        [np.arange(1, orders + 1), rng.integers(1, orders + 1, items - orders)]
    )
    rng.shuffle(item_order)
    sku = rng.integers(10_000, 99_999, items)
    quantity = rng.integers(1, 6, items)
    price_cents = rng.integers(199, 25_000, items)
    total_cents = np.bincount(item_order, weights=quantity * price_cents, minlength=orders + 1)

    order_rows = [
        (
            int(i),
            int(c),
            str(s),
            Decimal(int(total_cents[i])) / 100,
            epoch + dt.timedelta(seconds=int(t)),
        )
        for i, c, s, t in zip(
            range(1, orders + 1), order_customer, order_status, order_time, strict=True
        )
    ]
    item_rows = [
        (i + 1, int(o), f"SKU-{s}", int(q), Decimal(int(p)) / 100)
        for i, (o, s, q, p) in enumerate(zip(item_order, sku, quantity, price_cents, strict=True))
    ]
    return Shop(
        columns={
            "customers": (
                "id",
                "first_name",
                "last_name",
                "email",
                "ssn",
                "phone",
                "referred_by",
                "created_at",
            ),
            "orders": ("id", "customer_id", "status", "total", "created_at"),
            "order_items": ("id", "order_id", "sku", "quantity", "price"),
        },
        rows={"customers": customer_rows, "orders": order_rows, "order_items": item_rows},
    )


def load_postgres(url: str, shop: Shop) -> None:
    """Create the shop's tables in an empty PostgreSQL database and COPY the rows in."""
    with psycopg.connect(url) as conn:
        conn.execute(_POSTGRES_DDL)
        for table in ("customers", "orders", "order_items"):
            columns = ", ".join(shop.columns[table])
            with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in shop.rows[table]:
                    copy.write_row(row)
        conn.execute("ANALYZE")


def load_sqlite(path: str, shop: Shop) -> None:
    """Create the shop in a new SQLite file."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(_SQLITE_DDL)
        for table in ("customers", "orders", "order_items"):
            columns = shop.columns[table]
            marks = ", ".join("?" for _ in columns)
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(_sqlite_value(v) for v in row) for row in shop.rows[table]],
            )
        conn.commit()
    finally:
        conn.close()


def _sqlite_value(value: Any) -> Any:
    # sqlite3 has no adapter for Decimal, and its datetime adapter is deprecated.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value
