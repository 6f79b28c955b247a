//! Splitting parameter data by rows so that no record passes the stream's
//! record limit.

use crate::error::{Error, Result};
use crate::model::ParameterData;
use crate::record::{MAX_RECORD_BYTES, Record};

/// Splits `data` by rows, in order, into records made by `encode` that each
/// fit the stream's record limit. A single row too large is a 413.
pub fn split_parameter_data(
    data: ParameterData,
    encode: &dyn Fn(&ParameterData) -> Record,
) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    split_into(data, encode, &mut records)?;
    Ok(records)
}

fn split_into(
    data: ParameterData,
    encode: &dyn Fn(&ParameterData) -> Record,
    out: &mut Vec<Record>,
) -> Result<()> {
    let record = encode(&data);
    let size = record.size();
    if size <= MAX_RECORD_BYTES {
        out.push(record);
        return Ok(());
    }
    let rows = data.rows();
    if rows == 1 {
        return Err(Error::RecordTooLarge {
            size,
            limit: MAX_RECORD_BYTES,
        });
    }
    // Aim for pieces of about 90% of the limit, then check each one.
    let pieces = size.div_ceil(MAX_RECORD_BYTES * 9 / 10).clamp(2, rows);
    let per_piece = rows.div_ceil(pieces);
    let mut start = 0;
    while start < rows {
        let end = (start + per_piece).min(rows);
        split_into(data.slice(start..end), encode, out)?;
        start = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::payload::parameter_data;
    use bytes::Bytes;

    fn encode(data: &ParameterData) -> Record {
        Record {
            partition_key: "s".into(),
            data: Bytes::from(serde_json::to_vec(data).unwrap()),
        }
    }

    #[test]
    fn splits_large_data_by_rows_keeping_order_and_every_row() {
        let rows = 60_000;
        let data = ParameterData {
            timestamps: (0..rows).collect(),
            numeric_values: [(
                "v".to_owned(),
                (0..rows).map(|i| Some(i as f64 * 1.5)).collect(),
            )]
            .into(),
            string_values: [(
                "s".to_owned(),
                (0..rows).map(|i| Some(format!("row {i}"))).collect(),
            )]
            .into(),
            ..Default::default()
        };
        let records = split_parameter_data(data, &encode).unwrap();
        assert!(records.len() > 1);
        let mut next = 0;
        for record in &records {
            assert!(record.size() <= MAX_RECORD_BYTES);
            let piece: ParameterData = serde_json::from_slice(&record.data).unwrap();
            assert_eq!(
                piece.timestamps,
                (next..next + piece.rows() as i64).collect::<Vec<_>>()
            );
            assert_eq!(piece.string_values["s"][0], Some(format!("row {next}")));
            next += piece.rows() as i64;
        }
        assert_eq!(next, rows);
    }

    #[test]
    fn small_data_is_one_record_and_a_huge_row_is_413() {
        let small =
            parameter_data(br#"{"timestamps": [1, 2], "numericValues": {"a": [1, 2]}}"#).unwrap();
        assert_eq!(split_parameter_data(small, &encode).unwrap().len(), 1);
        let huge = ParameterData {
            timestamps: vec![1],
            string_values: [("s".to_owned(), vec![Some("x".repeat(MAX_RECORD_BYTES))])].into(),
            ..Default::default()
        };
        assert!(matches!(
            split_parameter_data(huge, &encode),
            Err(Error::RecordTooLarge { .. })
        ));
    }
}
