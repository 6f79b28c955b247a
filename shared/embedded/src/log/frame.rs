//! The frame codec: how one record is laid out on disk.
//!
//! Little endian:
//! `len u32 | crc32 u32 | seq u64 | arrival_ms u64 | key_len u16 | key | data`.

use std::io;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;

use super::StoredRecord;
use inlet_shared::record::Record;

/// Bytes before a frame's body: `len u32` (the body's length) and
/// `crc32 u32` (the CRC-32 of the body).
pub(super) const HEADER: usize = 8;
/// Bytes of a body before its key: `seq u64`, `arrival_ms u64`, `key_len u16`.
pub(super) const FIXED: usize = 8 + 8 + 2;
/// The longest body a valid frame can have: the longest key and the largest
/// record. A longer `len` is damage, not a frame still being written.
pub(super) const MAX_BODY: usize =
    FIXED + u16::MAX as usize + inlet_shared::record::MAX_RECORD_BYTES;

/// Appends the frame of `record` to `buf`.
pub(super) fn encode(buf: &mut Vec<u8>, seq: u64, arrival_ms: u64, record: &Record) {
    let key = record.partition_key.as_bytes();
    let len = FIXED + key.len() + record.data.len();
    let start = buf.len();
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(&arrival_ms.to_le_bytes());
    buf.extend_from_slice(&(key.len() as u16).to_le_bytes());
    buf.extend_from_slice(key);
    buf.extend_from_slice(&record.data);
    let crc = crc32fast::hash(&buf[start + HEADER..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Decodes one frame and its size; `None` if `buf` holds no whole frame yet,
/// an `InvalidData` error if the frame is corrupt.
pub(super) fn decode(buf: &[u8]) -> io::Result<Option<(StoredRecord, usize)>> {
    if buf.len() < HEADER {
        return Ok(None);
    }
    let len = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
    let corrupt = || io::Error::new(io::ErrorKind::InvalidData, "corrupt log frame");
    if len > MAX_BODY {
        return Err(corrupt());
    }
    if buf.len() < HEADER + len {
        return Ok(None);
    }
    let body = &buf[HEADER..HEADER + len];
    if len < FIXED || crc32fast::hash(body) != crc {
        return Err(corrupt());
    }
    let seq = u64::from_le_bytes(body[0..8].try_into().expect("8 bytes"));
    let arrival_ms = u64::from_le_bytes(body[8..16].try_into().expect("8 bytes"));
    let key_len = u16::from_le_bytes(body[16..18].try_into().expect("2 bytes")) as usize;
    let key = body.get(FIXED..FIXED + key_len).ok_or_else(corrupt)?;
    let record = StoredRecord {
        seq,
        arrival: UNIX_EPOCH + Duration::from_millis(arrival_ms),
        partition_key: String::from_utf8(key.to_vec()).map_err(|_| corrupt())?,
        data: Bytes::copy_from_slice(&body[FIXED + key_len..]),
    };
    Ok(Some((record, HEADER + len)))
}
