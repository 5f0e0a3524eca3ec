"""Fast loading of model rows with PostgreSQL ``COPY`` (no model ``save()``, no signals, no services).

``bulk_create`` spends most of its time in Python (PERFORMANCE.md: 52.7 s against 4.5 s for ``COPY`` on a
million rows), so loaders build plain dicts and hand them to :func:`copy_rows`.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import DateField
from django.utils import timezone
from psycopg import sql


def _fillers(model, given: set[str]):
    """For each concrete column the rows do not give, a function returning the value to write."""
    now = timezone.now()
    fillers = {}
    for field in model._meta.concrete_fields:
        if field.attname in given or field.db_returning:  # left out auto ids: the database numbers the rows
            continue
        if isinstance(field, DateField) and (field.auto_now or field.auto_now_add):
            fillers[field.attname] = lambda now=now: now
        elif field.has_default() and callable(field.default):
            fillers[field.attname] = lambda field=field: field.get_db_prep_save(
                field.get_default(), connection
            )
        else:
            constant = field.get_db_prep_save(field.get_default(), connection)
            fillers[field.attname] = lambda constant=constant: constant
    return fillers


def copy_rows(model, rows: Iterable[dict]) -> int:
    """Write ``rows`` (dicts keyed by field ``attname``, e.g. ``organisation_id``) into ``model``'s table.

    Values are written as they are, so give what the database stores: str, int, bool, datetime, Decimal or
    None (wrap JSON in ``psycopg.types.json.Jsonb``). Columns a row leaves out get the field's default (called
    per row when it is callable) or "now" for ``auto_now``/``auto_now_add``; the database numbers rows that
    leave out their auto id. Give the id explicitly when other rows refer to it, then call
    :func:`reset_sequences`. Returns the number of rows written.
    """
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    given = list(first)
    fillers = _fillers(model, set(given))
    missing = list(fillers)
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = [name for name in given if name not in fields]
    if unknown:
        raise ValueError(f"{model.__name__} has no column(s) {unknown}")
    columns = [fields[name].column for name in given + missing]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    connection.ensure_connection()
    count = 0
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in _chain(first, rows):
            copy.write_row([row[name] for name in given] + [fillers[name]() for name in missing])
            count += 1
    return count


def _chain(first, rest):
    yield first
    yield from rest


def reset_sequences(*models) -> None:
    """Move the id sequences past the ids written explicitly, so later inserts do not collide."""
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def vacuum_analyze() -> None:
    """``VACUUM (ANALYZE)`` the whole database, outside any transaction: planner statistics of a database
    that has lived with this data, visibility maps for index-only scans, and no autovacuum of the freshly
    loaded tables competing with the measurements."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
