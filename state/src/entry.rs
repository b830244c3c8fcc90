//! Typed handles on the state area: one entry ([`Key`]), entries by name ([`Family`]), and a set
//! of changes written at once ([`Commit`]).

use std::{borrow::Cow, marker::PhantomData};

use vigil_events::{EventStore, StoreError, store::StateBatch};

use crate::{StateValue, logs::LineKind};

/// One entry of the agent's state: its key, and the type of its value.
pub struct Key<T> {
    bytes: Cow<'static, [u8]>,
    value: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// An entry with a fixed key.
    pub const fn fixed(bytes: &'static [u8]) -> Self {
        Self {
            bytes: Cow::Borrowed(bytes),
            value: PhantomData,
        }
    }

    pub(crate) fn owned(bytes: Vec<u8>) -> Self {
        Self {
            bytes: Cow::Owned(bytes),
            value: PhantomData,
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the entry exists, whatever its value.
    pub fn exists(&self, store: &EventStore) -> Result<bool, StoreError> {
        Ok(store.get_state(&self.bytes)?.is_some())
    }

    /// Removes the entry, alone in its commit.
    pub fn remove(&self, store: &EventStore) -> Result<(), StoreError> {
        let mut commit = Commit::default();
        commit.delete(self);
        commit.apply(store)
    }
}

impl<T: StateValue> Key<T> {
    /// The entry's value: `None` when there is none, or when what is kept is not a `T`.
    pub fn get(&self, store: &EventStore) -> Result<Option<T>, StoreError> {
        Ok(store.get_state(&self.bytes)?.and_then(|b| T::decode(&b)))
    }

    /// Sets the entry, alone in its commit.
    pub fn set(&self, store: &EventStore, value: &T) -> Result<(), StoreError> {
        let mut commit = Commit::default();
        commit.put(self, value);
        commit.apply(store)
    }
}

impl<T> std::fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", String::from_utf8_lossy(&self.bytes))
    }
}

/// Entries of one kind, one per name (a query's, a distributed query's id): keyed
/// `<prefix><name>`.
pub struct Family<T> {
    prefix: &'static str,
    value: PhantomData<fn() -> T>,
}

impl<T> Family<T> {
    pub const fn new(prefix: &'static str) -> Self {
        Self {
            prefix,
            value: PhantomData,
        }
    }

    /// The entry of `name`.
    pub fn key(&self, name: &str) -> Key<T> {
        Key::owned(format!("{}{name}", self.prefix).into_bytes())
    }

    /// How many entries there are, whatever their values.
    pub fn count(&self, store: &EventStore) -> Result<usize, StoreError> {
        Ok(store.state_with_prefix(self.prefix.as_bytes())?.len())
    }
}

impl<T: StateValue> Family<T> {
    /// Every entry's name and value, in name order; entries whose value is not a `T` are left
    /// out.
    pub fn all(&self, store: &EventStore) -> Result<Vec<(String, T)>, StoreError> {
        Ok(store
            .state_with_prefix(self.prefix.as_bytes())?
            .into_iter()
            .filter_map(|(key, value)| {
                let name = String::from_utf8_lossy(&key[self.prefix.len()..]).into_owned();
                Some((name, T::decode(&value)?))
            })
            .collect())
    }
}

/// Changes to the agent's state and the lines they produce, written in one atomic write: a
/// crash leaves all of them or none (a query's read position never moves past events whose
/// result lines were lost).
#[derive(Debug, Default)]
pub struct Commit {
    batch: StateBatch,
}

impl Commit {
    pub fn put<T: StateValue>(&mut self, key: &Key<T>, value: &T) {
        self.batch.puts.push((key.bytes().to_vec(), value.encode()));
    }

    pub fn delete<T>(&mut self, key: &Key<T>) {
        self.batch.deletes.push(key.bytes().to_vec());
    }

    /// Queues `line` for every logger that is on (see [`logs::set_sinks`](crate::logs::set_sinks)).
    pub fn log(&mut self, kind: LineKind, line: String) {
        self.batch.lines.push((kind.tag(), line));
    }

    /// The bytes of the lines queued so far.
    pub fn logged_bytes(&self) -> usize {
        self.batch.lines.iter().map(|(_, line)| line.len()).sum()
    }

    pub fn apply(self, store: &EventStore) -> Result<(), StoreError> {
        store.commit_state(self.batch)
    }
}
