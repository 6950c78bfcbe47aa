//! The demo datasets.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use chrono::{Days, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::DemoError;
use crate::people::{WARDS, name, pick, postcode, street, uprn, vrm, ward};
use crate::writer::{date_partition, write_parquet};

/// Import days: a week of daily partitions ending on a fixed date, so runs are identical.
pub fn import_days() -> Vec<NaiveDate> {
    let last = NaiveDate::from_ymd_opt(2024, 11, 24).unwrap_or_default();
    (0..7u64).rev().map(|back| last - Days::new(back)).collect()
}

/// Columns by name; the schema follows the arrays.
struct Columns<N: AsRef<str>>(Vec<(N, ArrayRef)>);

impl<N: AsRef<str>> Columns<N> {
    fn batch(self) -> Result<RecordBatch, DemoError> {
        let fields: Vec<Field> = self
            .0
            .iter()
            .map(|(n, a)| Field::new(n.as_ref(), a.data_type().clone(), true))
            .collect();
        let arrays = self.0.into_iter().map(|(_, a)| a).collect();
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    }
}

fn strings(values: Vec<String>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

fn days_since_epoch(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32
}

fn dates(values: Vec<NaiveDate>) -> ArrayRef {
    Arc::new(Date32Array::from(
        values.into_iter().map(days_since_epoch).collect::<Vec<_>>(),
    ))
}

fn money(cents: Vec<i64>, precision: u8) -> Result<ArrayRef, DemoError> {
    Ok(Arc::new(
        Decimal128Array::from(cents.into_iter().map(i128::from).collect::<Vec<_>>())
            .with_precision_and_scale(precision, 2)?,
    ))
}

fn part_file(zone_dir: &Path, dataset: &str, partition: &str) -> std::path::PathBuf {
    zone_dir
        .join(dataset)
        .join(partition)
        .join("part-00000.parquet")
}

/// Penalty charge notices for one day, as the Liberator feed delivers them.
fn pcn_day(
    rng: &mut StdRng,
    day: NaiveDate,
    rows: usize,
    serial: &mut u64,
) -> Result<RecordBatch, DemoError> {
    let codes = ["01", "12", "16", "30", "40", "62"];
    let issue = day - Days::new(1);
    let (mut pcn, mut vrms, mut streets, mut wards, mut contraventions) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut amounts, mut paid, mut officers, mut times) = (vec![], vec![], vec![], vec![]);
    let midnight = issue
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp_micros();
    for _ in 0..rows {
        *serial += 1;
        pcn.push(format!("HY{:08}", *serial));
        vrms.push(vrm(rng));
        streets.push(street(rng).to_string());
        wards.push(ward(rng).0.to_string());
        let code = pick(rng, &codes);
        contraventions.push(code.to_string());
        amounts.push(if ["01", "12", "16", "40", "62"].contains(&code) {
            16_000
        } else {
            11_000
        });
        paid.push(rng.random_bool(0.7));
        officers.push(rng.random_range(100..160));
        times.push(midnight + rng.random_range(7 * 3600..22 * 3600) * 1_000_000);
    }
    Columns(vec![
        ("pcn", strings(pcn)),
        ("pcn_issue_date", dates(vec![issue; rows])),
        (
            "pcn_issue_datetime",
            Arc::new(TimestampMicrosecondArray::from(times)),
        ),
        ("vrm", strings(vrms)),
        ("street_location", strings(streets)),
        ("ward_code", strings(wards)),
        ("contravention_code", strings(contraventions)),
        ("amount", money(amounts, 8)?),
        ("is_paid", Arc::new(BooleanArray::from(paid))),
        ("officer_id", Arc::new(Int32Array::from(officers))),
    ])
    .batch()
}

/// Writes every dataset; `step` is called after each file for progress.
pub fn write_all(lake: &Path, rows: usize, step: &mut dyn FnMut(&str)) -> Result<(), DemoError> {
    let mut rng = StdRng::seed_from_u64(20_241_124);
    let (raw, refined, trusted) = (lake.join("raw"), lake.join("refined"), lake.join("trusted"));
    let per_day = (rows / 7).max(1);
    let mut serial = 0;
    for day in import_days() {
        let partition = date_partition("import", day);
        let tickets = pcn_day(&mut rng, day, per_day, &mut serial)?;
        write_parquet(
            &part_file(&raw, "parking/liberator/liberator_pcn_tickets", &partition),
            &tickets,
        )?;
        write_parquet(
            &part_file(&refined, "parking/liberator_pcn_tickets", &partition),
            &with_ward_names(&tickets)?,
        )?;
        write_parquet(
            &part_file(&trusted, "parking/pcn_ward_daily", &partition),
            &ward_daily(&tickets, day)?,
        )?;
        step("parking");
    }
    write_permits(&mut rng, &raw, (rows / 70).max(1))?;
    step("permits");
    write_people_datasets(&mut rng, &raw, &refined, (rows / 20).max(1))?;
    step("revenues and housing");
    write_unrestricted(&mut rng, &raw, (rows / 10).max(1))?;
    step("unrestricted");
    Ok(())
}

fn with_ward_names(tickets: &RecordBatch) -> Result<RecordBatch, DemoError> {
    let codes = column_strings(tickets, "ward_code");
    let names: Vec<String> = codes.iter().map(|c| ward_name(c).to_string()).collect();
    let mut columns: Vec<(String, ArrayRef)> = Vec::new();
    for (i, field) in tickets.schema().fields().iter().enumerate() {
        columns.push((field.name().clone(), Arc::clone(tickets.column(i))));
    }
    columns.push(("ward_name".to_string(), strings(names)));
    Columns(columns).batch()
}

fn ward_daily(tickets: &RecordBatch, day: NaiveDate) -> Result<RecordBatch, DemoError> {
    let codes = column_strings(tickets, "ward_code");
    let mut counts = vec![0i64; WARDS.len()];
    for code in &codes {
        if let Some(i) = WARDS.iter().position(|(c, _)| c == code) {
            counts[i] += 1;
        }
    }
    Columns(vec![
        (
            "ward_code",
            strings(WARDS.iter().map(|(c, _)| c.to_string()).collect()),
        ),
        (
            "ward_name",
            strings(WARDS.iter().map(|(_, n)| n.to_string()).collect()),
        ),
        ("issue_date", dates(vec![day - Days::new(1); WARDS.len()])),
        ("tickets", Arc::new(Int64Array::from(counts.clone()))),
        (
            "total_amount",
            Arc::new(Float64Array::from(
                counts.iter().map(|c| *c as f64 * 130.0).collect::<Vec<_>>(),
            )),
        ),
    ])
    .batch()
}

/// Resident permits. The feed changed mid-week: `permit_id` widened from int32 to int64
/// and a `channel` column was added — the drift the lake must absorb.
fn write_permits(rng: &mut StdRng, raw: &Path, per_day: usize) -> Result<(), DemoError> {
    let types = ["resident", "business", "visitor", "doctor", "estate"];
    let mut id = 500_000i64;
    for (n, day) in import_days().into_iter().enumerate() {
        let ids: Vec<i64> = (0..per_day)
            .map(|_| {
                id += 1;
                id
            })
            .collect();
        let id_column: ArrayRef = if n < 3 {
            Arc::new(Int32Array::from(
                ids.iter().map(|i| *i as i32).collect::<Vec<_>>(),
            ))
        } else {
            Arc::new(Int64Array::from(ids))
        };
        let mut columns = vec![
            ("permit_id", id_column),
            ("vrm", strings((0..per_day).map(|_| vrm(rng)).collect())),
            (
                "permit_type",
                strings(
                    (0..per_day)
                        .map(|_| pick(rng, &types).to_string())
                        .collect(),
                ),
            ),
            (
                "ward_code",
                strings((0..per_day).map(|_| ward(rng).0.to_string()).collect()),
            ),
            ("start_date", dates(vec![day; per_day])),
        ];
        if n >= 3 {
            columns.push((
                "channel",
                strings(
                    (0..per_day)
                        .map(|_| pick(rng, &["online", "phone", "counter"]).to_string())
                        .collect(),
                ),
            ));
        }
        let batch = Columns(columns).batch()?;
        write_parquet(
            &part_file(raw, "parking/permits", &date_partition("import", day)),
            &batch,
        )?;
    }
    Ok(())
}

/// Council tax accounts and housing tenancies and repairs: names, birth dates, postcodes
/// and UPRNs for the policy to mask.
fn write_people_datasets(
    rng: &mut StdRng,
    raw: &Path,
    refined: &Path,
    per_day: usize,
) -> Result<(), DemoError> {
    let bands = ["A", "B", "C", "D", "E", "F", "G", "H"];
    let teams = ["north", "central", "south", "east"];
    let mut account = 30_000_000u64;
    let mut repair = 9_000_000i64;
    for day in import_days() {
        let partition = date_partition("import", day);
        let n = per_day;
        let birth = |rng: &mut StdRng| {
            NaiveDate::from_ymd_opt(
                rng.random_range(1935..2004),
                rng.random_range(1..13),
                rng.random_range(1..29),
            )
            .unwrap_or_default()
        };
        let accounts = Columns(vec![
            (
                "account_ref",
                strings(
                    (0..n)
                        .map(|_| {
                            account += 1;
                            format!("{account}")
                        })
                        .collect(),
                ),
            ),
            (
                "lead_liable_name",
                strings((0..n).map(|_| name(rng)).collect()),
            ),
            ("date_of_birth", dates((0..n).map(|_| birth(rng)).collect())),
            (
                "property_uprn",
                Arc::new(Int64Array::from(
                    (0..n).map(|_| uprn(rng)).collect::<Vec<_>>(),
                )),
            ),
            ("postcode", strings((0..n).map(|_| postcode(rng)).collect())),
            (
                "band",
                strings((0..n).map(|_| pick(rng, &bands).to_string()).collect()),
            ),
            (
                "ward_code",
                strings((0..n).map(|_| ward(rng).0.to_string()).collect()),
            ),
            (
                "balance",
                money(
                    (0..n).map(|_| rng.random_range(-50_000..250_000)).collect(),
                    10,
                )?,
            ),
        ])
        .batch()?;
        write_parquet(
            &part_file(raw, "revenues/council_tax/council_tax_accounts", &partition),
            &accounts,
        )?;
        write_parquet(
            &part_file(refined, "revenues/council_tax_accounts", &partition),
            &accounts,
        )?;
        let tenancies = Columns(vec![
            (
                "tenancy_ref",
                strings(
                    (0..n)
                        .map(|_| format!("T{:07}", rng.random_range(0..9_999_999)))
                        .collect(),
                ),
            ),
            ("tenant_name", strings((0..n).map(|_| name(rng)).collect())),
            ("date_of_birth", dates((0..n).map(|_| birth(rng)).collect())),
            (
                "uprn",
                Arc::new(Int64Array::from(
                    (0..n).map(|_| uprn(rng)).collect::<Vec<_>>(),
                )),
            ),
            ("postcode", strings((0..n).map(|_| postcode(rng)).collect())),
            (
                "ward_code",
                strings((0..n).map(|_| ward(rng).0.to_string()).collect()),
            ),
            (
                "team",
                strings((0..n).map(|_| pick(rng, &teams).to_string()).collect()),
            ),
            (
                "tenure_type",
                strings(
                    (0..n)
                        .map(|_| pick(rng, &["secure", "introductory", "temporary"]).to_string())
                        .collect(),
                ),
            ),
            (
                "weekly_rent",
                Arc::new(Float64Array::from(
                    (0..n)
                        .map(|_| rng.random_range(9_000..18_000) as f64 / 100.0)
                        .collect::<Vec<_>>(),
                )),
            ),
            (
                "safeguarding_case",
                Arc::new(BooleanArray::from(
                    (0..n).map(|_| rng.random_bool(0.05)).collect::<Vec<_>>(),
                )),
            ),
        ])
        .batch()?;
        write_parquet(&part_file(raw, "housing/tenancies", &partition), &tenancies)?;
        write_parquet(
            &part_file(refined, "housing/tenancies", &partition),
            &tenancies,
        )?;
        let midnight = day
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp_micros();
        let repairs = Columns(vec![
            (
                "repair_id",
                Arc::new(Int64Array::from(
                    (0..n)
                        .map(|_| {
                            repair += 1;
                            repair
                        })
                        .collect::<Vec<_>>(),
                )),
            ),
            (
                "uprn",
                Arc::new(Int64Array::from(
                    (0..n).map(|_| uprn(rng)).collect::<Vec<_>>(),
                )),
            ),
            (
                "ward_code",
                strings((0..n).map(|_| ward(rng).0.to_string()).collect()),
            ),
            (
                "team",
                strings((0..n).map(|_| pick(rng, &teams).to_string()).collect()),
            ),
            (
                "priority",
                strings(
                    (0..n)
                        .map(|_| pick(rng, &["emergency", "urgent", "routine"]).to_string())
                        .collect(),
                ),
            ),
            (
                "description",
                strings(
                    (0..n)
                        .map(|_| {
                            pick(
                                rng,
                                &[
                                    "Leaking tap",
                                    "Broken window",
                                    "No heating",
                                    "Damp and mould",
                                    "Door entry fault",
                                ],
                            )
                            .to_string()
                        })
                        .collect(),
                ),
            ),
            (
                "raised_at",
                Arc::new(TimestampMicrosecondArray::from(
                    (0..n)
                        .map(|_| midnight - rng.random_range(0..86_400) * 1_000_000)
                        .collect::<Vec<_>>(),
                )),
            ),
        ])
        .batch()?;
        write_parquet(&part_file(raw, "housing/repairs", &partition), &repairs)?;
    }
    Ok(())
}

/// Wards (no partitions) and LLPG addresses (a snapshot dataset).
fn write_unrestricted(rng: &mut StdRng, raw: &Path, addresses: usize) -> Result<(), DemoError> {
    let wards = Columns(vec![
        (
            "ward_code",
            strings(WARDS.iter().map(|(c, _)| c.to_string()).collect()),
        ),
        (
            "ward_name",
            strings(WARDS.iter().map(|(_, n)| n.to_string()).collect()),
        ),
        ("borough", strings(vec!["Hackney".to_string(); WARDS.len()])),
    ])
    .batch()?;
    write_parquet(&raw.join("unrestricted/wards/part-00000.parquet"), &wards)?;
    for snapshot in [
        NaiveDate::from_ymd_opt(2024, 10, 1),
        NaiveDate::from_ymd_opt(2024, 11, 1),
    ]
    .into_iter()
    .flatten()
    {
        let batch = Columns(vec![
            (
                "uprn",
                Arc::new(Int64Array::from(
                    (0..addresses).map(|_| uprn(rng)).collect::<Vec<_>>(),
                )),
            ),
            (
                "address",
                strings(
                    (0..addresses)
                        .map(|_| format!("{} {}", rng.random_range(1..300), street(rng)))
                        .collect(),
                ),
            ),
            (
                "postcode",
                strings((0..addresses).map(|_| postcode(rng)).collect()),
            ),
            (
                "ward_code",
                strings((0..addresses).map(|_| ward(rng).0.to_string()).collect()),
            ),
        ])
        .batch()?;
        write_parquet(
            &part_file(
                raw,
                "unrestricted/llpg/llpg_addresses",
                &date_partition("snapshot", snapshot),
            ),
            &batch,
        )?;
    }
    Ok(())
}

fn column_strings(batch: &RecordBatch, name: &str) -> Vec<String> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .map(|a| {
            a.iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn ward_name(code: &str) -> &'static str {
    WARDS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("", |(_, n)| n)
}
