//! Several rows under one RocksDB key: RocksDB's per-key work when iterating (about 1,500
//! instructions a key here, measured with callgrind: the iterator's per-entry bookkeeping, the
//! internal key, the block's restart points) was two thirds of a full scan's cost, so the writer
//! stores the rows of one write batch together, a chunk at a time.
//!
//! A chunk's key is its first row's key followed by [`CHUNK_MARK`], so chunks sort by their
//! rows' keys among rows an older vigil stored one per key (16-byte keys, still read). Its value:
//! a version byte, the row count, then per row the growth of the key time and of the sequence
//! number since the row before (the first row's since the chunk's key) and the row's value,
//! length-prefixed (LEB128 throughout).
//!
//! A chunk that does not read to its end (a damaged file) gives the rows it could read, then
//! one empty row, which every table decodes as corrupt and counts: nothing is dropped unseen.

use super::{
    row_key as key,
    wire::{Reader, Writer},
};

/// The byte after a chunk's 16-byte first-row key.
pub const CHUNK_MARK: u8 = 1;
pub const CHUNK_KEY_LEN: usize = key::KEY_LEN + 1;
const CHUNK_VERSION: u8 = 1;

/// At most this many rows per chunk: a reader that starts inside a chunk (a page boundary, a
/// resumed scheduled query) reads and skips the rows before its place.
pub const MAX_CHUNK_ROWS: usize = 64;
/// A chunk is closed once its values reach this size, so it stays within one data block.
pub const MAX_CHUNK_BYTES: usize = 16 * 1024;

/// One row as it is keyed: `(key time ns, seq)`, and its encoded value.
pub type ChunkRow<'a> = (u64, u64, &'a [u8]);

/// A chunk as RocksDB stores it: its key and its value.
pub type EncodedChunk = ([u8; CHUNK_KEY_LEN], Vec<u8>);

/// The key and value of a chunk of `rows` (not empty, keys increasing).
pub fn encode(rows: &[ChunkRow<'_>]) -> Option<EncodedChunk> {
    let &(first_time, first_seq, _) = rows.first()?;
    let mut chunk_key = [CHUNK_MARK; CHUNK_KEY_LEN];
    chunk_key[..key::KEY_LEN].copy_from_slice(&key::encode(first_time, first_seq));
    let bytes: usize = rows.iter().map(|(_, _, value)| value.len() + 6).sum();
    let mut writer = Writer(Vec::with_capacity(bytes + 8));
    writer.byte(CHUNK_VERSION);
    writer.uint(rows.len() as u64);
    let (mut time, mut seq) = (first_time, first_seq);
    for &(row_time, row_seq, value) in rows {
        writer.uint(row_time.saturating_sub(time));
        writer.uint(row_seq.saturating_sub(seq));
        writer.uint(value.len() as u64);
        writer.0.extend_from_slice(value);
        (time, seq) = (row_time, row_seq);
    }
    Some((chunk_key, writer.0))
}

/// How many of `rows` go into the next chunk.
pub fn next_chunk_len(rows: &[ChunkRow<'_>]) -> usize {
    let mut bytes = 0;
    for (taken, (_, _, value)) in rows.iter().enumerate() {
        if taken == MAX_CHUNK_ROWS || (taken > 0 && bytes + value.len() > MAX_CHUNK_BYTES) {
            return taken;
        }
        bytes += value.len();
    }
    rows.len()
}

/// The rows stored under one key: a chunk's, or the one row of a 16-byte key; none for a key of
/// another shape.
pub fn rows<'a>(stored_key: &[u8], value: &'a [u8]) -> Rows<'a> {
    let start = key::decode(stored_key.get(..key::KEY_LEN).unwrap_or_default());
    let state = match (start, stored_key.len()) {
        (Some((time, seq)), key::KEY_LEN) => State::Single { time, seq },
        (Some((time, seq)), CHUNK_KEY_LEN) if stored_key[key::KEY_LEN] == CHUNK_MARK => {
            let mut reader = Reader(value);
            let header = reader.byte().ok().filter(|v| *v == CHUNK_VERSION);
            match (header, reader.uint()) {
                (Some(_), Ok(left)) => State::Chunk {
                    reader,
                    left,
                    time,
                    seq,
                    read_any: false,
                },
                _ => State::Damaged { time, seq },
            }
        }
        _ => State::Done,
    };
    Rows { value, state }
}

pub struct Rows<'a> {
    value: &'a [u8],
    state: State<'a>,
}

enum State<'a> {
    Single {
        time: u64,
        seq: u64,
    },
    Chunk {
        reader: Reader<'a>,
        left: u64,
        /// The previous row's key (the chunk's key before the first row).
        time: u64,
        seq: u64,
        read_any: bool,
    },
    /// What is left cannot be read: one empty row keyed after the last row read.
    Damaged {
        time: u64,
        seq: u64,
    },
    Done,
}

impl<'a> Iterator for Rows<'a> {
    type Item = ChunkRow<'a>;

    fn next(&mut self) -> Option<ChunkRow<'a>> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Single { time, seq } => Some((time, seq, self.value)),
            State::Done => None,
            State::Damaged { time, seq } => Some((time, seq, &[])),
            State::Chunk {
                mut reader,
                left,
                time,
                seq,
                read_any,
            } => {
                if left == 0 {
                    if !reader.0.is_empty() {
                        self.state = damaged_after(time, seq, read_any);
                        return self.next();
                    }
                    return None;
                }
                let row = (|| {
                    let row_time = time.checked_add(reader.uint().ok()?)?;
                    let row_seq = seq.checked_add(reader.uint().ok()?)?;
                    let value = reader.bytes_ref("chunk row").ok()?;
                    Some((row_time, row_seq, value))
                })();
                // The first row is keyed as the chunk, and keys increase after it: a row that
                // does not follow is damage.
                let follows = |key: (u64, u64)| {
                    if read_any {
                        key > (time, seq)
                    } else {
                        key == (time, seq)
                    }
                };
                match row {
                    Some((row_time, row_seq, value)) if follows((row_time, row_seq)) => {
                        self.state = State::Chunk {
                            reader,
                            left: left - 1,
                            time: row_time,
                            seq: row_seq,
                            read_any: true,
                        };
                        Some((row_time, row_seq, value))
                    }
                    _ => {
                        self.state = damaged_after(time, seq, read_any);
                        self.next()
                    }
                }
            }
        }
    }
}

/// The damaged rest of a chunk, keyed just after the last row read (the chunk's key when none
/// was): before any row of a later chunk, whose sequence numbers are all larger.
fn damaged_after(time: u64, seq: u64, read_any: bool) -> State<'static> {
    if !read_any {
        return State::Damaged { time, seq };
    }
    match seq.checked_add(1) {
        Some(seq) => State::Damaged { time, seq },
        None => State::Done,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn read(stored_key: &[u8], value: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
        rows(stored_key, value)
            .map(|(t, s, v)| (t, s, v.to_vec()))
            .collect()
    }

    #[test]
    fn a_chunk_gives_back_its_rows_and_a_16_byte_key_one_row() {
        let stored: [ChunkRow<'_>; 3] = [(10, 4, b"a"), (10, 5, b""), (17, 9, b"ccc")];
        let (chunk_key, value) = encode(&stored).expect("rows");
        assert_eq!(&chunk_key[..16], &key::encode(10, 4));
        let expected: Vec<_> = stored
            .iter()
            .map(|(t, s, v)| (*t, *s, v.to_vec()))
            .collect();
        assert_eq!(read(&chunk_key, &value), expected);
        assert_eq!(
            read(&key::encode(3, 1), b"old row"),
            vec![(3, 1, b"old row".to_vec())]
        );
        assert!(read(&[0; 15], b"x").is_empty());
        assert!(encode(&[]).is_none());
    }

    #[test]
    fn a_damaged_chunk_ends_in_one_empty_row_after_what_it_could_read() {
        let (chunk_key, value) = encode(&[(10, 4, b"abc"), (11, 5, b"defg")]).expect("rows");
        // Cut inside the second row's value.
        let cut = &value[..value.len() - 2];
        assert_eq!(
            read(&chunk_key, cut),
            vec![(10, 4, b"abc".to_vec()), (10, 5, Vec::new())]
        );
        // A header that does not read: the chunk's key, empty.
        assert_eq!(read(&chunk_key, &[9, 1]), vec![(10, 4, Vec::new())]);
        // Bytes past the count are damage too.
        let mut longer = value.clone();
        longer.push(0);
        assert_eq!(read(&chunk_key, &longer).len(), 3);
    }

    #[test]
    fn chunks_close_at_their_row_or_byte_limit() {
        let small = vec![(1, 1, &b"x"[..]); 100];
        assert_eq!(next_chunk_len(&small), MAX_CHUNK_ROWS);
        assert_eq!(next_chunk_len(&small[..3]), 3);
        let big = vec![0u8; MAX_CHUNK_BYTES / 2 + 1];
        let large = vec![(1, 1, &big[..]); 4];
        assert_eq!(next_chunk_len(&large), 1);
        let huge = vec![0u8; MAX_CHUNK_BYTES * 2];
        assert_eq!(next_chunk_len(&[(1, 1, &huge[..])]), 1);
    }

    proptest! {
        #[test]
        fn any_rows_round_trip(
            steps in prop::collection::vec((0u64..1_000, 1u64..3, prop::collection::vec(any::<u8>(), 0..40)), 1..80),
        ) {
            let mut time = 1_000_000u64;
            let mut seq = 1u64;
            let mut owned = Vec::new();
            for (dt, ds, value) in steps {
                time += dt;
                seq += ds;
                owned.push((time, seq, value));
            }
            let stored: Vec<ChunkRow<'_>> = owned.iter().map(|(t, s, v)| (*t, *s, &v[..])).collect();
            let (chunk_key, value) = encode(&stored).expect("rows");
            prop_assert_eq!(read(&chunk_key, &value), owned);
        }

        /// Whatever the bytes, reading never panics, keys only increase, and it ends.
        #[test]
        fn any_bytes_read_as_increasing_rows(value in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut chunk_key = [CHUNK_MARK; CHUNK_KEY_LEN];
            chunk_key[..16].copy_from_slice(&key::encode(5, 5));
            let keys: Vec<(u64, u64)> = rows(&chunk_key, &value).map(|(t, s, _)| (t, s)).collect();
            prop_assert!(keys.len() <= value.len() + 1);
            prop_assert!(keys.windows(2).all(|w| w[0] < w[1]), "{:?}", keys);
            prop_assert!(keys.first().is_none_or(|k| *k >= (5, 5)));
        }
    }
}
