"""asyncpg: binary protocol for every column, prepared statements with typed parameters,
as a persona."""

import asyncio
import datetime
import decimal
import ssl

import asyncpg

from personas import token

T = "parking_raw_zone.liberator_pcn_tickets"


def run(coroutine):
    return asyncio.run(coroutine)


async def connect(lakegate, persona):
    context = ssl.create_default_context(cafile=str(lakegate.dir / "tls/cert.pem"))
    return await asyncpg.connect(host="127.0.0.1", port=lakegate.port, user="token", database="lake",
                                 password=token(lakegate, persona), ssl=context)


def test_binary_results_and_typed_parameters(lakegate):
    async def check():
        conn = await connect(lakegate, "analyst")
        try:
            rows = await conn.fetch(f"SELECT pcn, amount, pcn_issue_date, pcn_issue_datetime, is_paid, officer_id, vrm "
                                    f"FROM {T} WHERE ward_code = $1 AND amount >= $2 ORDER BY pcn LIMIT 5",
                                    "E05009372", decimal.Decimal("0"))
            assert len(rows) == 5
            row = rows[0]
            assert isinstance(row["amount"], decimal.Decimal) and isinstance(row["pcn_issue_date"], datetime.date)
            assert isinstance(row["pcn_issue_datetime"], datetime.datetime) and isinstance(row["is_paid"], bool)
            assert isinstance(row["officer_id"], int) and row["vrm"].startswith("XX00 ")
            other = await conn.fetchval(f"SELECT count(*) FROM {T} WHERE ward_code = $1", "E05009370")
            assert other == 0
            statement = await conn.prepare(f"SELECT count(*) FROM {T} WHERE pcn_issue_date >= $1")
            assert await statement.fetchval(datetime.date(2000, 1, 1)) > 0
        finally:
            await conn.close()

    run(check())


def test_hidden_tables_raise_undefined_table(lakegate):
    async def check():
        conn = await connect(lakegate, "public")
        try:
            try:
                await conn.fetch(f"SELECT count(*) FROM {T}")
            except asyncpg.UndefinedTableError:
                pass
            else:
                raise AssertionError("the parking table is visible to the public")
            assert await conn.fetchval("SELECT count(*) FROM unrestricted_raw_zone.wards") > 0
        finally:
            await conn.close()

    run(check())
