//! A record bound for a stream, and the limits every stream holds it to
//! (those of Kinesis Data Streams).

use bytes::Bytes;

/// Why a record cannot go to any stream; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A record is larger than a stream takes.
    #[error("record of {size} bytes exceeds the stream's record limit of {limit} bytes")]
    TooLarge {
        /// The record's size: data plus partition key.
        size: usize,
        /// The stream's limit.
        limit: usize,
    },
    /// A partition key (stream id) is empty or too long.
    #[error("stream id must be 1 to {MAX_PARTITION_KEY_CHARS} characters, got {chars}")]
    BadPartitionKey {
        /// Its length in characters.
        chars: usize,
    },
    /// A partition key (stream id) holds a control character (NUL, tab, a
    /// line break): refused, as it would break logs and line-based readers.
    #[error("stream id must not contain control characters (found U+{code:04X})")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
    },
}

/// Largest record (data plus partition key) a Kinesis stream takes: 1 MiB.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Most records in one `PutRecords` call.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Most bytes in one `PutRecords` call: 5 MiB.
pub const MAX_BATCH_BYTES: usize = 5 * 1024 * 1024;
/// Longest partition key Kinesis accepts, in characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// One record bound for a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Kinesis partition key: the stream id, so order is kept per stream.
    pub partition_key: String,
    /// The record's bytes: a CloudEvent JSON document.
    pub data: Bytes,
}

impl Record {
    /// Size as Kinesis counts it against its 1 MiB limit: data plus partition key.
    pub fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// Refuses records no stream can take, before anything is written.
pub fn check_records(records: &[Record]) -> Result<(), RecordError> {
    for record in records {
        if record.size() > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge {
                size: record.size(),
                limit: MAX_RECORD_BYTES,
            });
        }
        let chars = record.partition_key.chars().count();
        if chars == 0 || chars > MAX_PARTITION_KEY_CHARS {
            return Err(RecordError::BadPartitionKey { chars });
        }
        if let Some(c) = record.partition_key.chars().find(|c| c.is_control()) {
            return Err(RecordError::ControlCharacter { code: c as u32 });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn record(key: &str, size: usize) -> Record {
        Record {
            partition_key: key.to_owned(),
            data: Bytes::from(vec![b'x'; size]),
        }
    }

    #[test]
    fn refuses_records_over_one_mib_counting_the_partition_key() {
        assert!(check_records(&[record("k", MAX_RECORD_BYTES - 1)]).is_ok());
        match check_records(&[record("k", 10), record("kk", MAX_RECORD_BYTES - 1)]) {
            Err(RecordError::TooLarge { size, limit }) => {
                assert_eq!(size, MAX_RECORD_BYTES + 1);
                assert_eq!(limit, MAX_RECORD_BYTES);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_empty_or_overlong_partition_keys() {
        assert!(matches!(
            check_records(&[record("", 1)]),
            Err(RecordError::BadPartitionKey { .. })
        ));
        let long = "é".repeat(MAX_PARTITION_KEY_CHARS + 1);
        assert!(matches!(
            check_records(&[record(&long, 1)]),
            Err(RecordError::BadPartitionKey { .. })
        ));
        assert!(check_records(&[record(&"é".repeat(MAX_PARTITION_KEY_CHARS), 1)]).is_ok());
    }

    #[test]
    fn refuses_control_characters_in_partition_keys() {
        for key in ["a\0b", "a\nb", "tab\t", "\u{7f}"] {
            assert!(
                matches!(
                    check_records(&[record(key, 1)]),
                    Err(RecordError::ControlCharacter { .. })
                ),
                "{key:?}"
            );
        }
    }
}
