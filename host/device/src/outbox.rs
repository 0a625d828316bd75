//! The persistent outbox: accepted messages that survive a power loss.
//!
//! With `"outbox": {"path": "outbox.redb"}` in the device file, every message is
//! written to a [redb](https://docs.rs/redb) store (committed, `fsync`ed) before
//! `publish` gives its answer, and removed when its outcome arrives. The component
//! holds the in-memory queue and gives each message an id for this run; the outbox
//! gives each record a durable key of its own and maps this run's ids to it. A
//! device that restarts (after a kill, a power loss, or a stop) publishes every
//! record still in the store into the new instance, in key order, before its
//! numbered stream goes on where it left off.
//!
//! - A message the component refuses is removed again (it was never accepted).
//! - A stop fails the queue with `client-close`; with an outbox those messages are
//!   kept (reported as kept, not failed) and sent by the next run.
//! - An outcome removes the record first and is reported after the removal is
//!   committed, so a restart never reports a message's outcome a second time. A
//!   power loss between the two loses that one report, never the message's record
//!   of having been sent (the hub has it or it failed).
//!
//! redb commits atomically (copy-on-write pages, checksummed commit slots), so a
//! kill during a write leaves the last commit, which the next open repairs to. A
//! store that is damaged some other way (truncated, overwritten) fails the open
//! with [`OutboxError::Damaged`]: every page is checked on open, and the device
//! does not start rather than lose what the file held. A new store is made under a
//! temporary name and renamed into place, so a crash while making it never leaves
//! an empty file where a store should be: an empty file at the path is damage too.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

/// The records: durable key to (topic, payload, stream sequence number).
const MESSAGES: TableDefinition<u64, (&str, &[u8], Option<u64>)> = TableDefinition::new("messages");
/// Counters that outlive a run: the next key, the stream's next number.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const NEXT_KEY: &str = "next-key";
const STREAM_NEXT: &str = "stream-next";

/// The `outbox` section of the device file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxSettings {
    /// `path`: the store file (relative: to the device file's folder).
    pub path: PathBuf,
}

/// A message still waiting for its outcome, as the store holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The durable key.
    pub key: u64,
    /// The topic.
    pub topic: String,
    /// The payload.
    pub payload: Vec<u8>,
    /// The numbered stream's sequence number, if it came from the stream.
    pub seq: Option<u64>,
}

/// Why the outbox cannot be used.
#[derive(Debug)]
pub enum OutboxError {
    /// The file is not an intact store: its pages do not check, or it is empty or
    /// cut short. It is left as it was.
    Damaged {
        /// The store file.
        path: PathBuf,
        /// What redb found.
        detail: String,
    },
    /// Another process has the store open.
    InUse {
        /// The store file.
        path: PathBuf,
    },
    /// Reading or writing failed (permissions, a full disk...).
    Storage {
        /// The store file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
}

impl fmt::Display for OutboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutboxError::Damaged { path, detail } => write!(
                f,
                "outbox {}: the store is damaged ({detail}); it was left as it is. Move it \
                 aside to start with an empty outbox (the messages it held would not be sent)",
                path.display()
            ),
            OutboxError::InUse { path } => write!(
                f,
                "outbox {}: the store is open in another process (one outbox per device)",
                path.display()
            ),
            OutboxError::Storage { path, detail } => {
                write!(f, "outbox {}: {detail}", path.display())
            }
        }
    }
}

impl std::error::Error for OutboxError {}

/// The open store, and this run's ids of the records in it.
pub struct Outbox {
    db: Database,
    path: PathBuf,
    next_key: u64,
    stream_next: Option<u64>,
    /// This run's message id to durable key.
    keys: BTreeMap<u64, u64>,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.path)
            .field("next_key", &self.next_key)
            .field("bound", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// Open the store at `path` (making a new one if there is no file), and give
    /// the records still waiting for an outcome, in key order.
    ///
    /// # Errors
    /// [`OutboxError::Damaged`] for a file that is not an intact store,
    /// [`OutboxError::InUse`] when another process has it, and
    /// [`OutboxError::Storage`] when it cannot be read or made.
    pub fn open(path: &Path) -> Result<(Outbox, Vec<Record>), OutboxError> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path)?,
            // Never an empty file of our own making (see `create`): a cut store.
            Ok(m) if m.len() == 0 => {
                return Err(OutboxError::Damaged {
                    path: path.to_path_buf(),
                    detail: "the file is empty".into(),
                });
            }
            _ => {}
        }
        let db = Database::builder()
            // Every page checked on open: an altered file is refused, not trusted.
            .set_check_integrity_on_open(true)
            .open(path)
            .map_err(|e| open_error(path, e))?;
        let mut outbox = Outbox {
            db,
            path: path.to_path_buf(),
            next_key: 1,
            stream_next: None,
            keys: BTreeMap::new(),
        };
        let records = outbox.load().map_err(|e| outbox.damaged_or_storage(e))?;
        Ok((outbox, records))
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The numbered stream's next number, as the last run left it.
    pub fn stream_next(&self) -> Option<u64> {
        self.stream_next
    }

    /// Records held now, over all runs.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn len(&self) -> Result<u64, OutboxError> {
        let read = || -> Result<u64, redb::Error> {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(MESSAGES)?;
            Ok(redb::ReadableTableMetadata::len(&table)?)
        };
        read().map_err(|e| self.damaged_or_storage(e))
    }

    /// Whether the store holds no record.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn is_empty(&self) -> Result<bool, OutboxError> {
        Ok(self.len()? == 0)
    }

    /// Write a message (and, for the stream, its next number) and commit: the
    /// durable key. Done before the component sees the message.
    ///
    /// # Errors
    /// When the write or the commit fails; nothing is stored then.
    pub fn store(
        &mut self,
        topic: &str,
        payload: &[u8],
        seq: Option<u64>,
    ) -> Result<u64, OutboxError> {
        let key = self.next_key;
        let next = key.saturating_add(1);
        let stream_next = seq.map(|s| s.saturating_add(1));
        let write = || -> Result<(), redb::Error> {
            let tx = self.db.begin_write()?;
            {
                let mut messages = tx.open_table(MESSAGES)?;
                messages.insert(key, (topic, payload, seq))?;
                let mut meta = tx.open_table(META)?;
                meta.insert(NEXT_KEY, next)?;
                if let Some(n) = stream_next {
                    meta.insert(STREAM_NEXT, n)?;
                }
            }
            tx.commit()?;
            Ok(())
        };
        write().map_err(|e| self.damaged_or_storage(e))?;
        self.next_key = next;
        if stream_next.is_some() {
            self.stream_next = stream_next;
        }
        Ok(key)
    }

    /// The component accepted the record `key` as message `id` of this run.
    pub fn bind(&mut self, key: u64, id: u64) {
        self.keys.insert(id, key);
    }

    /// The durable key of this run's message `id`.
    pub fn key_of(&self, id: u64) -> Option<u64> {
        self.keys.get(&id).copied()
    }

    /// Remove the record `key` (the component refused it, or it was sent and
    /// ended elsewhere).
    ///
    /// # Errors
    /// When the removal cannot be committed; the record stays.
    pub fn remove(&mut self, key: u64) -> Result<(), OutboxError> {
        let write = || -> Result<(), redb::Error> {
            let tx = self.db.begin_write()?;
            {
                let mut messages = tx.open_table(MESSAGES)?;
                messages.remove(key)?;
            }
            tx.commit()?;
            Ok(())
        };
        write().map_err(|e| self.damaged_or_storage(e))
    }

    /// Message `id` has its outcome: remove its record. The key, or `None` for a
    /// message this outbox never held.
    ///
    /// # Errors
    /// When the removal cannot be committed; the record stays (and a restart
    /// would send it again).
    pub fn finish(&mut self, id: u64) -> Result<Option<u64>, OutboxError> {
        let Some(key) = self.keys.get(&id).copied() else {
            return Ok(None);
        };
        self.remove(key)?;
        self.keys.remove(&id);
        Ok(Some(key))
    }

    /// Forget this run's id of a record that stays in the store (kept at a stop).
    pub fn keep(&mut self, id: u64) -> Option<u64> {
        self.keys.remove(&id)
    }

    fn load(&mut self) -> Result<Vec<Record>, redb::Error> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        let next_key = meta.get(NEXT_KEY)?.map_or(1, |v| v.value());
        self.stream_next = meta.get(STREAM_NEXT)?.map(|v| v.value());
        let messages = tx.open_table(MESSAGES)?;
        let mut records = Vec::new();
        for entry in messages.iter()? {
            let (key, value) = entry?;
            let (topic, payload, seq) = value.value();
            records.push(Record {
                key: key.value(),
                topic: topic.to_string(),
                payload: payload.to_vec(),
                seq,
            });
        }
        // Never hand out a key a record still has, whatever the counter says.
        let after_last = records.last().map_or(1, |r| r.key.saturating_add(1));
        self.next_key = next_key.max(after_last);
        Ok(records)
    }

    fn damaged_or_storage(&self, e: redb::Error) -> OutboxError {
        classify(&self.path, e)
    }
}

/// A new, empty store at `path`: made under a temporary name, then renamed.
fn create(path: &Path) -> Result<(), OutboxError> {
    let storage = |detail: String| OutboxError::Storage {
        path: path.to_path_buf(),
        detail,
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    // A leftover from a crash while making the store held nothing yet.
    if temporary.exists() {
        std::fs::remove_file(&temporary)
            .map_err(|e| storage(format!("cannot remove {}: {e}", temporary.display())))?;
    }
    {
        let db = Database::create(&temporary).map_err(|e| open_error(path, e))?;
        let init = || -> Result<(), redb::Error> {
            let tx = db.begin_write()?;
            {
                tx.open_table(MESSAGES)?;
                tx.open_table(META)?;
            }
            tx.commit()?;
            Ok(())
        };
        init().map_err(|e| classify(path, e))?;
    }
    std::fs::rename(&temporary, path).map_err(|e| storage(format!("cannot create: {e}")))?;
    // The rename itself must survive a power loss.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| storage(format!("cannot sync {}: {e}", dir.display())))?;
    }
    Ok(())
}

fn open_error(path: &Path, e: redb::DatabaseError) -> OutboxError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => OutboxError::InUse {
            path: path.to_path_buf(),
        },
        other => classify(path, other.into()),
    }
}

fn classify(path: &Path, e: redb::Error) -> OutboxError {
    let path = path.to_path_buf();
    match e {
        redb::Error::Corrupted(detail) => OutboxError::Damaged { path, detail },
        // A file too short to hold a header, or cut inside a page.
        redb::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            OutboxError::Damaged {
                path,
                detail: format!("cut short: {io}"),
            }
        }
        redb::Error::DatabaseAlreadyOpen => OutboxError::InUse { path },
        redb::Error::TableTypeMismatch(_)
        | redb::Error::TypeDefinitionChanged(_)
        | redb::Error::TableIsMultimap(_)
        | redb::Error::UpgradeRequired(_) => OutboxError::Damaged {
            path,
            detail: format!("not a tether outbox: {e}"),
        },
        other => OutboxError::Storage {
            path,
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::arithmetic_side_effects
    )]
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tether-outbox-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("outbox.redb")
    }

    /// A store holding three records, the second one finished.
    fn filled(path: &Path) {
        let (mut outbox, records) = Outbox::open(path).unwrap();
        assert!(records.is_empty());
        for seq in 1..=3 {
            let key = outbox
                .store("t/x", format!("{seq} payload").as_bytes(), Some(seq))
                .unwrap();
            outbox.bind(key, seq + 10);
        }
        assert_eq!(outbox.finish(12).unwrap(), Some(2));
        assert_eq!(outbox.finish(99).unwrap(), None);
    }

    #[test]
    fn records_outlive_the_process_and_keys_are_not_reused() {
        let path = temp("reopen");
        filled(&path);
        let (mut outbox, records) = Outbox::open(&path).unwrap();
        let keys: Vec<u64> = records.iter().map(|r| r.key).collect();
        assert_eq!(keys, [1, 3]);
        assert_eq!(records[1].payload, b"3 payload");
        assert_eq!(records[1].seq, Some(3));
        assert_eq!(outbox.stream_next(), Some(4));
        assert_eq!(outbox.store("t/x", b"4", None).unwrap(), 4);
        assert_eq!(outbox.len().unwrap(), 3);
        // Kept at a stop: the id is forgotten, the record stays.
        outbox.bind(4, 1);
        assert_eq!(outbox.keep(1), Some(4));
        assert_eq!(outbox.finish(1).unwrap(), None);
        assert_eq!(outbox.len().unwrap(), 3);
    }

    #[test]
    fn a_second_process_is_refused() {
        let path = temp("in-use");
        let (_outbox, _) = Outbox::open(&path).unwrap();
        let e = Outbox::open(&path).unwrap_err();
        assert!(matches!(e, OutboxError::InUse { .. }), "{e}");
    }

    /// Every cut of a store, and every byte flipped in its first pages, is an
    /// error or an intact store, never a panic.
    #[test]
    fn a_cut_or_altered_store_is_refused_or_intact_never_a_panic() {
        let path = temp("damage");
        filled(&path);
        let whole = std::fs::read(&path).unwrap();
        let damaged = path.with_extension("damaged");
        let mut refused = 0;
        let mut cases = Vec::new();
        for len in [
            0,
            1,
            100,
            511,
            512,
            4095,
            4096,
            whole.len() / 2,
            whole.len() - 1,
        ] {
            cases.push(whole[..len.min(whole.len())].to_vec());
        }
        for at in (0..whole.len().min(16_384)).step_by(97) {
            let mut bytes = whole.clone();
            bytes[at] ^= 0x5A;
            cases.push(bytes);
        }
        for bytes in &cases {
            std::fs::write(&damaged, bytes).unwrap();
            let opened = std::panic::catch_unwind(|| Outbox::open(&damaged).map(|(_, r)| r));
            match opened {
                Err(_) => panic!("redb panicked on a damaged store of {} bytes", bytes.len()),
                Ok(Err(e)) => {
                    refused += 1;
                    assert!(
                        matches!(e, OutboxError::Damaged { .. } | OutboxError::Storage { .. }),
                        "{e}"
                    );
                    assert!(e.to_string().contains("outbox "), "{e}");
                }
                Ok(Ok(records)) => {
                    // What opens holds what was written (a flip in unused space).
                    let keys: Vec<u64> = records.iter().map(|r| r.key).collect();
                    assert_eq!(keys, [1, 3]);
                }
            }
        }
        assert!(
            refused >= 9,
            "every cut is refused ({refused} of {})",
            cases.len()
        );
    }

    #[test]
    fn a_cut_store_says_it_is_damaged() {
        let path = temp("cut");
        filled(&path);
        let len = std::fs::metadata(&path).unwrap().len();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(len / 2).unwrap();
        drop(file);
        let e = Outbox::open(&path).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, OutboxError::Damaged { .. }), "{text}");
        assert!(text.contains("damaged"), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
        // Left as it was.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len / 2);
    }
}
