"""SQL in the shapes BI tools generate, for running on lakegate and on PostgreSQL 15 alike.

Each statement is deterministic (no `now()`, no random) and orders its rows, or is compared
as a multiset of rows. `statements()` yields (family, sql, zones): `zones` is the list of
session time zones the statement runs under (the time-zone-sensitive families run under every
zone in ZONES; the rest under one, in turn)."""

import itertools

P = "parking_raw_zone.liberator_pcn_tickets"
W = "unrestricted_raw_zone.wards"

ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Adelaide"]

TS = "pcn_issue_datetime"
D = "pcn_issue_date"

TRUNC_UNITS = ["year", "quarter", "month", "week", "day", "hour", "minute"]
EXTRACT_FIELDS = ["year", "quarter", "month", "week", "day", "dow", "isodow", "doy", "hour", "minute",
                  "second", "epoch", "isoyear", "century", "decade", "millennium", "milliseconds",
                  "microseconds", "julian"]
DATE_FIELDS = ["year", "quarter", "month", "week", "day", "dow", "isodow", "doy", "epoch", "isoyear",
               "century", "decade", "julian"]
TO_CHAR_PATTERNS = [
    "YYYY-MM-DD", "YYYY-MM-DD HH24:MI:SS", "DD/MM/YYYY", "MM/DD/YY", "HH12:MI AM", "HH:MI:SS.MS",
    "HH24:MI:SS.US", "YYYY\"Q\"Q", "IYYY-IW", "WW", "D", "ID", "DDD", "IDDD", "Dy", "Day", "FMDay",
    "Mon", "Month", "FMMonth", "mon", "MONTH", "day", "DY", "J", "CC", "Y,YYY", "YYY", "YY", "Y",
    "FMDD/FMMM/YYYY", "DDth", "FMDDth Month YYYY", "MMth", "W", "SSSS", "PM", "a.m.", "P.M.",
    "YYYY-MM-DD\"T\"HH24:MI:SS", "\"Week \"IW\" of \"IYYY", "Month DD, YYYY", "RM", "rm", "FMRM",
    "HH24", "MI", "SS", "FF3", "FF6", "TZ", "tz", "OF", "TZH:TZM",
]
INTERVALS = ["1 day", "2 hours", "30 minutes", "1 month", "3 months", "1 year", "1 week", "-1 day",
             "1 day 2 hours", "90 seconds", "1 year 2 months 3 days"]
NUMERIC_LITERALS = ["0.1", "0.2", "1.5", "2.50", "100.005", "721330.4241866222", "0.000001",
                    "12345678.9", "-3.75", "1e3", "2.5e-3"]
STRING_COLUMNS = ["pcn", "vrm", "street_location", "ward_code", "contravention_code", "import_date"]
STRING_FUNCTIONS = [
    "upper({c})", "lower({c})", "length({c})", "char_length({c})", "octet_length({c})",
    "substr({c}, 2, 3)", "substring({c} from 2 for 4)", "left({c}, 3)", "right({c}, 3)",
    "trim({c})", "ltrim({c}, 'HE')", "rtrim({c}, '0123456789')", "btrim(' ' || {c} || ' ')",
    "replace({c}, 'E', 'e')", "concat({c}, '-', officer_id)", "{c} || '/' || ward_code",
    "position('0' in {c})", "strpos({c}, '1')", "split_part({c}, ' ', 1)", "initcap(lower({c}))",
    "lpad({c}, 12, '*')", "rpad({c}, 12, '.')", "reverse({c})", "md5({c})", "starts_with({c}, 'E0')",
    "concat_ws('|', {c}, ward_code, NULL, officer_id)", "repeat(left({c}, 2), 3)",
    "translate({c}, 'AEIOU', 'aeiou')", "ascii({c})", "chr(65 + officer_id % 26)",
    "quote_literal({c})", "quote_ident({c})", "to_hex(officer_id)", "regexp_replace({c}, '[0-9]', '#', 'g')",
    "left({c}, -2)", "overlay({c} placing 'XX' from 2 for 2)", "{c} ~ '^[A-Z]'", "{c} ~* 'road'",
]
LIKE_PATTERNS = ["'E05%'", "'%Road%'", "'%road%'", "'HY0000_%'", "'%1'", "'_'", "'%'", "'%\\_%'",
                 "'Mare%'", "'%Street'"]


def _ordered(select_list, rest=""):
    return f"SELECT {select_list} FROM {P} {rest}"


def time_families():
    """Statements whose values depend on the session time zone."""
    tz = f"{TS}::timestamptz"
    hour = f"date_trunc('hour', {tz})"
    for field in EXTRACT_FIELDS:
        yield "extract_tz", f"SELECT extract({field} FROM {hour}) AS f, date_part('{field}', {hour}) AS p, count(*) FROM {P} GROUP BY 1, 2 ORDER BY 1, 2"
    for pattern in TO_CHAR_PATTERNS:
        literal = pattern.replace("'", "''")
        yield "to_char_tz", f"SELECT to_char({hour}, '{literal}') AS s, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
    for literal in ["2024-06-02 00:00:00+00", "2024-06-02 00:00", "2024-06-02", "2024-06-02 12:00:00-05",
                    "2024-06-03 09:30:00 Europe/London"]:
        yield "predicate_tz", f"SELECT count(*) AS n, min({tz}) AS m FROM {P} WHERE {tz} >= '{literal}'"
        yield "predicate_tz", f"SELECT count(*) AS n FROM {P} WHERE {tz} < '{literal}'::timestamptz + interval '1 day'"
    for unit in TRUNC_UNITS:
        yield "date_trunc_tz", f"SELECT date_trunc('{unit}', {tz}) AS t, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
        yield "date_trunc_tz", f"SELECT date_trunc('{unit}', {tz}, 'Europe/London') AS t, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
    for field in EXTRACT_FIELDS:
        yield "extract_tz", f"SELECT extract({field} FROM {tz}) AS f, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
    for pattern in TO_CHAR_PATTERNS:
        literal = pattern.replace("'", "''")
        yield "to_char_tz", f"SELECT to_char({tz}, '{literal}') AS s, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
    for interval in INTERVALS:
        yield "interval_tz", f"SELECT {tz} + interval '{interval}' AS t FROM {P} ORDER BY pcn LIMIT 25"
    for zone in ZONES + ["+05:30", "-08"]:
        yield "at_time_zone", f"SELECT {TS} AT TIME ZONE '{zone}' AS t FROM {P} ORDER BY pcn LIMIT 25"
        yield "at_time_zone", f"SELECT ({TS} AT TIME ZONE 'UTC') AT TIME ZONE '{zone}' AS t FROM {P} ORDER BY pcn LIMIT 25"
    yield "cast_tz", f"SELECT {tz} AS t, {tz}::date AS d, {tz}::timestamp AS l, {tz}::text AS s FROM {P} ORDER BY pcn LIMIT 25"
    yield "cast_tz", f"SELECT {D}::timestamptz AS t FROM {P} ORDER BY pcn LIMIT 10"
    yield "cast_tz", "SELECT TIMESTAMPTZ '2024-06-05 10:11:12+05:30' AS t, TIMESTAMP '2024-06-05 10:11:12+05:30' AS l"
    yield "cast_tz", "SELECT '2024-06-05 10:11:12+05:30'::timestamptz AS t, '2024-06-05 10:11:12+05:30'::timestamp AS l"
    yield "cast_tz", "SELECT '2024-03-31 00:30:00'::timestamptz + interval '1 day' AS t, '2024-10-27 00:30'::timestamptz + interval '24 hours' AS u"
    yield "cast_tz", "SELECT '2024-06-05 +05:30'::date AS d, DATE '2024-06-05' AS e, '2024-06-05 10:11'::timestamp AS t"
    yield "cast_tz", "SELECT extract(timezone FROM '2024-06-05 10:11:12'::timestamptz) AS z"
    yield "cast_tz", "SELECT '2024-01-15 12:00'::timestamptz AS w, '2024-07-15 12:00'::timestamptz AS s"


def date_families():
    for unit in TRUNC_UNITS:
        yield "date_trunc", f"SELECT date_trunc('{unit}', {TS}) AS t, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
        yield "date_trunc", f"SELECT date_trunc('{unit}', {D}) AS t, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
    for field in EXTRACT_FIELDS:
        yield "extract", f"SELECT extract({field} FROM {TS}) AS f, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
        yield "extract", f"SELECT date_part('{field}', {TS}) AS f, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
    for field in DATE_FIELDS:
        yield "extract", f"SELECT extract({field} FROM {D}) AS f, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
    for pattern in TO_CHAR_PATTERNS:
        if pattern in ("TZ", "tz", "OF", "TZH:TZM"):
            continue
        literal = pattern.replace("'", "''")
        yield "to_char", f"SELECT to_char({TS}, '{literal}') AS s, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
        yield "to_char", f"SELECT to_char({D}, '{literal}') AS s, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
    for interval in INTERVALS:
        yield "interval", f"SELECT {TS} + interval '{interval}' AS t, {TS} - interval '{interval}' AS u FROM {P} ORDER BY pcn LIMIT 25"
        yield "interval", f"SELECT {D} + interval '{interval}' AS t FROM {P} ORDER BY pcn LIMIT 25"
        yield "interval", f"SELECT interval '{interval}' AS i, interval '{interval}' * 2 AS j, 3 * interval '{interval}' AS k"
    for days in [1, 7, 30, -1, 365]:
        yield "date_arith", f"SELECT {D} + {days} AS d, {D} - {days} AS e FROM {P} ORDER BY pcn LIMIT 25"
    yield "date_arith", f"SELECT DATE '2024-06-30' - {D} AS days, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
    yield "date_arith", f"SELECT {TS} - {D} AS i FROM {P} ORDER BY pcn LIMIT 25"
    yield "date_arith", f"SELECT {TS} - TIMESTAMP '2024-01-01 00:00:00' AS i FROM {P} ORDER BY pcn LIMIT 25"
    yield "date_arith", f"SELECT age(TIMESTAMP '2024-12-25', {TS}) AS a FROM {P} ORDER BY pcn LIMIT 25"
    yield "date_arith", f"SELECT {TS}::date AS d, {TS}::time AS t, {D}::timestamp AS s FROM {P} ORDER BY pcn LIMIT 25"
    yield "date_arith", f"SELECT {TS}::text AS t, {D}::text AS d, cast({TS} AS varchar) AS v FROM {P} ORDER BY pcn LIMIT 25"
    for fmt, value in [("YYYY-MM-DD HH24:MI:SS", "2024-06-05 10:11:12"), ("DD/MM/YYYY", "05/06/2024"),
                       ("YYYYMMDD", "20240605"), ("Mon DD YYYY", "Jun 05 2024"), ("DD Month YYYY", "5 June 2024"),
                       ("YYYY-MM-DD\"T\"HH24:MI:SS", "2024-06-05T10:11:12"), ("HH12:MI AM DD/MM/YYYY", "10:11 PM 05/06/2024"),
                       ("IYYY-IW-ID", "2024-23-3"), ("YYYY DDD", "2024 157"), ("J", "2460467")]:
        literal = fmt.replace("'", "''")
        yield "to_date", f"SELECT to_date('{value}', '{literal}') AS d"
        yield "to_timestamp", f"SELECT to_timestamp('{value}', '{literal}')::timestamp AS t"
    yield "to_date", f"SELECT to_date(import_date, 'YYYYMMDD') AS d, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
    yield "to_date", f"SELECT make_date(import_year::int, import_month::int, import_day::int) AS d, count(*) FROM {P} GROUP BY 1 ORDER BY 1"


def numeric_families():
    for a, b in itertools.product(NUMERIC_LITERALS, repeat=2):
        yield "numeric_literal", f"SELECT {a} + {b} AS s, {a} * {b} AS p, {a} - {b} AS d, {a} < {b} AS lt"
    for a in NUMERIC_LITERALS:
        yield "numeric_literal", f"SELECT {a} AS v, {a}::numeric(18,10) AS n, {a}::float8 AS f, {a}::real AS r, round({a}, 2) AS r2"
        yield "numeric_literal", f"SELECT amount * {a} AS v FROM {P} ORDER BY pcn LIMIT 10"
        yield "numeric_literal", f"SELECT count(*) FROM {P} WHERE amount > {a} * 100"
    yield "numeric_literal", "SELECT 0.1 + 0.2 = 0.3 AS eq, 721330.4241866222::numeric(18,10) AS n"
    yield "numeric_literal", "SELECT 1/3 AS i, 1.0/3 AS n, 1::float8/3 AS f, 10 % 3 AS m, -7 / 2 AS d, 2 ^ 10 AS pw"
    for expr in ["amount", "officer_id", "amount::float8", "officer_id::numeric", "amount::int", "amount::numeric(10,3)",
                 "round(amount * 0.175, 2)", "round(amount)", "trunc(amount / 7, 3)", "ceil(amount / 3)", "floor(amount / 3)",
                 "abs(amount - 150)", "sign(amount - 150)", "mod(officer_id, 7)", "officer_id / 7", "officer_id::float8 / 7",
                 "power(officer_id, 2)", "sqrt(officer_id)", "greatest(amount, 130)", "least(amount, 130)",
                 "cast(amount as decimal(12,4))", "cast(officer_id as bigint) * 1000000000", "officer_id::text",
                 "amount::text", "amount::float8::text", "(officer_id / 10.0)::numeric(6,1)"]:
        yield "numeric_cast", f"SELECT {expr} AS v, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
    for expr in ["'Infinity'::float8", "'-Infinity'::float8", "'NaN'::float8", "'NaN'::numeric", "1e300::float8 * 10",
                 "0.1::float8", "1/3::float8", "1e20::float8", "123456789.123::float4", "-0.0::float8", "2.5::float8",
                 "1e-7::float8", "100::float8"]:
        yield "float_text", f"SELECT {expr} AS v"


def expression_families():
    for c in STRING_COLUMNS:
        for f in STRING_FUNCTIONS:
            expr = f.format(c=c)
            yield "string", f"SELECT {expr} AS v, count(*) FROM {P} GROUP BY 1 ORDER BY 1 LIMIT 50"
    for c in ["street_location", "ward_code", "vrm", "pcn", "contravention_code"]:
        for pattern in LIKE_PATTERNS:
            yield "like", f"SELECT count(*) FROM {P} WHERE {c} LIKE {pattern}"
            yield "like", f"SELECT count(*) FROM {P} WHERE {c} ILIKE {pattern}"
            yield "like", f"SELECT count(*) FROM {P} WHERE {c} NOT LIKE {pattern}"
            yield "like", f"SELECT count(*) FROM {P} WHERE {c} NOT ILIKE {pattern}"
    for values in ["'01', '12'", "'30'", "'01', '12', '16', '30', '40', '62', '99'", "NULL", "'01', NULL"]:
        yield "in_list", f"SELECT contravention_code, count(*) FROM {P} WHERE contravention_code IN ({values}) GROUP BY 1 ORDER BY 1"
        yield "in_list", f"SELECT count(*) FROM {P} WHERE contravention_code NOT IN ({values})"
    for ids in ["100, 101, 102", "150", "100, 200"]:
        yield "in_list", f"SELECT officer_id, count(*) FROM {P} WHERE officer_id IN ({ids}) GROUP BY 1 ORDER BY 1"
    cases = [
        "CASE WHEN amount > 130 THEN 'high' ELSE 'low' END",
        "CASE contravention_code WHEN '01' THEN 1 WHEN '12' THEN 2 ELSE 0 END",
        "CASE WHEN is_paid THEN amount ELSE 0 END",
        "CASE WHEN officer_id % 2 = 0 THEN officer_id / 2.0 END",
        "CASE WHEN is_paid THEN 'paid' WHEN amount > 130 THEN 'owed high' END",
        "COALESCE(NULLIF(contravention_code, '01'), 'none')",
        "COALESCE(CASE WHEN is_paid THEN NULL ELSE amount END, -1)",
        "NULLIF(officer_id % 5, 0)",
        "CASE WHEN {d} < DATE '2024-06-01' THEN 'before' ELSE 'after' END".format(d=D),
        "is_paid AND amount > 130", "NOT is_paid OR officer_id > 150", "is_paid IS TRUE", "is_paid IS DISTINCT FROM true",
    ]
    for expr in cases:
        yield "case", f"SELECT {expr} AS v, count(*) FROM {P} GROUP BY 1 ORDER BY 1"
        yield "case", f"SELECT ward_code, count({expr}) AS n FROM {P} GROUP BY 1 ORDER BY 1"


def aggregate_families():
    aggregates = [
        "count(*)", "count(DISTINCT ward_code)", "count(DISTINCT officer_id)", "sum(amount)", "avg(amount)",
        "min(amount)", "max(amount)", "sum(officer_id)", "avg(officer_id)", "min({d})", "max({ts})",
        "sum(amount) FILTER (WHERE is_paid)", "count(*) FILTER (WHERE NOT is_paid)",
        "avg(amount) FILTER (WHERE contravention_code = '01')", "count(DISTINCT vrm) FILTER (WHERE is_paid)",
        "bool_and(is_paid)", "bool_or(is_paid)", "every(amount > 100)", "sum(DISTINCT amount)",
        "string_agg(DISTINCT contravention_code, ',' ORDER BY contravention_code)",
        "max(street_location)", "min(pcn)", "sum(amount::float8)", "stddev_samp(officer_id)::numeric(20,6)",
        "variance(officer_id)::numeric(20,4)", "sum(CASE WHEN is_paid THEN 1 ELSE 0 END)",
        "round(avg(amount), 2)", "round(100.0 * count(*) FILTER (WHERE is_paid) / count(*), 2)",
        "count(amount)", "sum(amount) / count(*)", "max(officer_id) - min(officer_id)",
        "array_agg(DISTINCT contravention_code ORDER BY contravention_code)",
    ]
    groupings = ["ward_code", "contravention_code", "is_paid", D, "import_date", "officer_id % 3",
                 f"date_trunc('day', {TS})", f"extract(hour FROM {TS})", "left(street_location, 1)"]
    for agg in aggregates:
        agg = agg.format(d=D, ts=TS)
        yield "aggregate", f"SELECT {agg} AS v FROM {P}"
        yield "aggregate", f"SELECT ward_code, is_paid, {agg} AS v FROM {P} GROUP BY 1, 2 ORDER BY 1, 2"
        for g in groupings:
            yield "aggregate", f"SELECT {g} AS g, {agg} AS v FROM {P} GROUP BY 1 ORDER BY 1"
        yield "join", f"SELECT w.ward_name, {agg} AS v FROM {P} JOIN {W} w USING (ward_code) GROUP BY 1 ORDER BY 1"
        yield "join", f"SELECT w.ward_name, {agg} AS v FROM {W} w LEFT JOIN (SELECT * FROM {P} WHERE is_paid) p " \
                      f"USING (ward_code) GROUP BY 1 ORDER BY 1"
    for g in ["ROLLUP (ward_code, contravention_code)", "CUBE (is_paid, contravention_code)",
              "GROUPING SETS ((ward_code), (contravention_code), ())", "ROLLUP (import_date)",
              "ward_code, ROLLUP (is_paid)"]:
        yield "grouping", f"SELECT {_grouping_columns(g)}, count(*) AS n, sum(amount) AS s FROM {P} GROUP BY {g} ORDER BY {_grouping_order(g)}"
        yield "grouping", f"SELECT {_grouping_columns(g)}, grouping({_grouping_columns(g).split(', ')[0]}) AS g, count(*) AS n " \
                          f"FROM {P} GROUP BY {g} ORDER BY {_grouping_order(g)}"
    yield "having", f"SELECT ward_code, count(*) AS n FROM {P} GROUP BY ward_code HAVING count(*) > 100 ORDER BY 1"
    yield "having", f"SELECT officer_id, sum(amount) AS s FROM {P} GROUP BY 1 HAVING sum(amount) > 10000 ORDER BY 1"


def _grouping_columns(g):
    names = []
    for name in ["ward_code", "contravention_code", "is_paid", "import_date"]:
        if name in g:
            names.append(name)
    return ", ".join(names)


def _grouping_order(g):
    n = len(_grouping_columns(g).split(", "))
    return ", ".join(f"{i} NULLS FIRST" for i in range(1, n + 1))


def window_families():
    windows = [
        "row_number() OVER (PARTITION BY ward_code ORDER BY pcn)",
        "rank() OVER (PARTITION BY ward_code ORDER BY amount, pcn)",
        "dense_rank() OVER (ORDER BY contravention_code)",
        "sum(amount) OVER (PARTITION BY ward_code)",
        "sum(amount) OVER (PARTITION BY ward_code ORDER BY pcn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
        "avg(amount) OVER (PARTITION BY contravention_code)",
        "count(*) OVER (PARTITION BY {d})",
        "lag(pcn) OVER (PARTITION BY ward_code ORDER BY pcn)",
        "lead(amount, 2, 0) OVER (ORDER BY pcn)",
        "first_value(pcn) OVER (PARTITION BY ward_code ORDER BY pcn)",
        "last_value(pcn) OVER (PARTITION BY ward_code ORDER BY pcn ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)",
        "ntile(4) OVER (ORDER BY pcn)",
        "percent_rank() OVER (PARTITION BY ward_code ORDER BY pcn)",
        "cume_dist() OVER (ORDER BY officer_id)",
        "max(officer_id) OVER (PARTITION BY contravention_code ORDER BY pcn ROWS 3 PRECEDING)",
        "sum(officer_id) OVER (ORDER BY pcn ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)",
        "min({ts}) OVER (PARTITION BY ward_code)",
        "count(*) OVER ()",
    ]
    for w in windows:
        w = w.format(d=D, ts=TS)
        for limit, offset in [(50, 0), (20, 100)]:
            yield "window", f"SELECT pcn, {w} AS w FROM {P} ORDER BY pcn LIMIT {limit} OFFSET {offset}"
        yield "window", f"SELECT * FROM (SELECT pcn, ward_code, {w} AS w FROM {P}) t WHERE pcn < 'HY00000300' ORDER BY pcn"


def subquery_families():
    yield "subquery", f"SELECT count(*) FROM {P} WHERE ward_code IN (SELECT ward_code FROM {W} WHERE ward_name LIKE 'H%')"
    yield "subquery", f"SELECT count(*) FROM {P} p WHERE EXISTS (SELECT 1 FROM {W} w WHERE w.ward_code = p.ward_code)"
    yield "subquery", f"SELECT count(*) FROM {P} p WHERE NOT EXISTS (SELECT 1 FROM {W} w WHERE w.ward_code = p.ward_code AND w.ward_name = 'Hackney Central')"
    yield "subquery", f"SELECT w.ward_name, (SELECT count(*) FROM {P} p WHERE p.ward_code = w.ward_code) AS n FROM {W} w ORDER BY 1"
    yield "subquery", f"SELECT t.ward_code, t.n FROM (SELECT ward_code, count(*) AS n FROM {P} GROUP BY 1) t WHERE t.n > 10 ORDER BY 1"
    yield "subquery", f"WITH daily AS (SELECT {D} AS d, sum(amount) AS s FROM {P} GROUP BY 1) SELECT d, s, s - lag(s) OVER (ORDER BY d) AS change FROM daily ORDER BY d"
    yield "subquery", f"SELECT w.ward_name, count(p.pcn) AS n, sum(p.amount) AS s FROM {W} w LEFT JOIN {P} p ON p.ward_code = w.ward_code GROUP BY 1 ORDER BY 1"
    yield "subquery", f"SELECT count(*) FROM {P} WHERE amount > (SELECT avg(amount) FROM {P})"
    yield "subquery", f"SELECT pcn FROM {P} WHERE officer_id = (SELECT max(officer_id) FROM {P}) ORDER BY pcn LIMIT 20"
    yield "subquery", f"SELECT ward_code FROM {P} UNION SELECT ward_code FROM {W} ORDER BY 1"
    yield "subquery", f"SELECT ward_code FROM {W} EXCEPT SELECT ward_code FROM {P} ORDER BY 1"
    yield "subquery", f"SELECT ward_code FROM {W} INTERSECT SELECT ward_code FROM {P} ORDER BY 1"
    for limit, offset in [(1, 0), (10, 0), (10, 10), (5, 13990), (100, 50), (0, 0)]:
        yield "limit", f"SELECT pcn, amount FROM {P} ORDER BY pcn LIMIT {limit} OFFSET {offset}"
        yield "limit", f"SELECT pcn FROM {P} ORDER BY amount DESC, pcn OFFSET {offset} ROWS FETCH FIRST {max(limit, 1)} ROWS ONLY"
    yield "limit", f"SELECT DISTINCT ward_code FROM {P} ORDER BY 1 LIMIT 3"
    yield "limit", f"SELECT DISTINCT ON (ward_code) ward_code, pcn FROM {P} ORDER BY ward_code, pcn"


PREDICATES = [
    "{ts} >= TIMESTAMP '2024-06-01 00:00:00' AND {ts} < TIMESTAMP '2024-06-04 00:00:00'",
    "{ts} >= '2024-06-02' AND {ts} < '2024-06-03 12:30'", "{d} BETWEEN DATE '2024-06-01' AND DATE '2024-06-03'",
    "{d} = '2024-06-02'", "{d} > '2024-06-02'::date - interval '1 day'", "{ts}::date = {d}",
    "extract(hour FROM {ts}) BETWEEN 9 AND 17", "extract(dow FROM {d}) IN (0, 6)", "date_trunc('day', {ts}) = {d}",
    "to_char({ts}, 'HH24') = '10'", "amount = 160", "amount = 160.00", "amount > 110.5", "amount BETWEEN 100 AND 150",
    "amount IN (110, 160.0)", "officer_id > 150.5", "officer_id::numeric / 2 = 60.5", "NOT is_paid",
    "is_paid = 'true'", "ward_code IS NOT NULL", "vrm IS NULL", "ward_code = 'E05009372' OR contravention_code = '01'",
    "(ward_code, contravention_code) IN (('E05009372', '01'), ('E05009373', '12'))",
    "length(street_location) > 12", "lower(street_location) LIKE '%road%'", "street_location ~ 'Road$'",
    "import_date = (SELECT max(import_date) FROM {p})", "import_date >= '20240603'", "import_year = '2024'",
    "pcn > 'HY00001000' AND pcn <= 'HY00002000'", "coalesce(vrm, '') <> ''", "officer_id % 10 = 3",
    "amount * 1.1 > 170", "amount / 3 > 50", "abs(officer_id - 130) < 5",
]
OUTPUTS = ["count(*)", "sum(amount)", "count(DISTINCT ward_code)", "min(pcn)", "max({ts})", "avg(officer_id)",
           "sum(officer_id)", "max(amount) - min(amount)"]


def predicate_families():
    for predicate in PREDICATES:
        for output in OUTPUTS:
            where = predicate.format(ts=TS, d=D, p=P)
            yield "predicate", f"SELECT {output.format(ts=TS)} AS v FROM {P} WHERE {where}"


def number_format_families():
    patterns = ["999G999D99", "FM9999.00", "9999", "0000.000", "FM999,999", "S999.99", "999.99MI", "999PR",
                "9.99EEEE", "L999", "FM990.0", "99", "FM9,999,999.99", "000", "FM999999990.00", "9,999.9"]
    for pattern in patterns:
        for expr in ["amount", "officer_id", "amount / 7", "-amount", "officer_id::float8 / 3", "amount * 100",
                     "officer_id * 1000 + 0.5", "amount::float8"]:
            yield "to_char_number", f"SELECT to_char({expr}, '{pattern}') AS s, count(*) FROM {P} GROUP BY 1 ORDER BY 1"


def misc_families():
    yield "array", "SELECT ARRAY[1, 2, 3] AS a, ARRAY['a', 'b'] AS b, ARRAY[1, 2]::text AS c, ARRAY['x y', NULL]::text AS d"
    yield "array", "SELECT string_to_array('a,b,c', ',') AS a, array_length(ARRAY[1,2,3], 1) AS n, cardinality(ARRAY[1,2]) AS c"
    yield "array", "SELECT array_to_string(ARRAY[1, 2, 3], '-') AS s, ARRAY[1.5, 2.25] AS f, ARRAY[true, false] AS b"
    yield "bool", "SELECT true AS t, false::text AS f, 't'::boolean AS tb, 1 < 2 AS lt, NULL::boolean AS n"
    yield "misc", "SELECT 'abc'::text AS t, 'a''b' AS q, E'tab\\there' AS e, '' AS empty, NULL AS n"
    yield "misc", "SELECT 42 AS i, 42::int2 AS s, 42::int8 AS b, (-2147483648)::int4 AS min, 9223372036854775807 AS big"
    yield "misc", "SELECT current_date - current_date AS zero, length('héllo') AS l, upper('straße') AS u"


FAMILIES = [
    (time_families, True),
    (date_families, False),
    (numeric_families, False),
    (expression_families, False),
    (aggregate_families, False),
    (window_families, False),
    (subquery_families, False),
    (predicate_families, False),
    (number_format_families, False),
    (misc_families, False),
]


def statements():
    """Every statement as (family, sql, zones)."""
    turn = itertools.cycle(ZONES)
    out, seen = [], set()
    for make, zone_sensitive in FAMILIES:
        for family, sql in make():
            if sql in seen:
                continue
            seen.add(sql)
            out.append((family, sql, list(ZONES) if zone_sensitive else [next(turn)]))
    return out
