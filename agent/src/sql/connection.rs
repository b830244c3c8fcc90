//! The one way vigil opens SQLite: an in-memory connection with vigil's tables, that refuses
//! anything but reading ([`super::authorizer`]) and bounds what a query may take
//! ([`super::limits`]). Every connection — shell, `vigil query`, config check, scheduler
//! (queries, decorators, discovery), distributed queries — comes from [`Connection::open`], so
//! none can be opened without these guards.

use std::{
    ops::Deref,
    sync::{Arc, Mutex},
};

use rusqlite::{ErrorCode, Statement, config::DbConfig, ffi, hooks::Authorization, limits::Limit};
use vigil_tables::Table;

use super::{
    authorizer,
    limits::{Deadline, Limits, failure, timed_out},
};

/// SQLite calls the progress handler every this many virtual-machine steps.
const PROGRESS_STEPS: i32 = 1000;

/// A SQLite connection with every vigil table, read-only, with its limits.
pub struct Connection {
    inner: rusqlite::Connection,
    limits: Limits,
    /// What the authorizer refused while the current statement was prepared.
    refused: Arc<Mutex<Option<String>>>,
    deadline: Arc<Deadline>,
}

/// Read access to the underlying connection (interrupt handles, planning); what would change
/// its guards (`authorizer`, `progress_handler`) takes `&mut`, which this does not give.
impl Deref for Connection {
    type Target = rusqlite::Connection;

    fn deref(&self) -> &rusqlite::Connection {
        &self.inner
    }
}

impl Connection {
    /// Opens a connection with `tables` registered, only reading allowed, and `limits` on
    /// every [`super::run`].
    pub fn open(tables: &[Arc<dyn Table>], limits: Limits) -> rusqlite::Result<Self> {
        // Not a file: nothing vigil's SQL does is kept, and no path reaches SQLite from here.
        #[allow(clippy::disallowed_methods)]
        let mut inner = rusqlite::Connection::open_in_memory()?;
        vigil_tables::register(&inner, tables)?;
        // Behind the authorizer, SQLite's own switches: no database can be attached at all, an
        // attached one could be neither created nor written, and no SQL can corrupt the schema.
        inner.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
        inner.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_ATTACH_CREATE, false)?;
        inner.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_ATTACH_WRITE, false)?;
        inner.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
        inner.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
        let refused = Arc::new(Mutex::new(None));
        let noted = refused.clone();
        inner.authorizer(Some(move |context: rusqlite::hooks::AuthContext<'_>| {
            match authorizer::refusal(&context.action) {
                None => Authorization::Allow,
                Some(what) => {
                    if let Ok(mut slot) = noted.lock() {
                        slot.get_or_insert(what);
                    }
                    Authorization::Deny
                }
            }
        }))?;
        let deadline = Arc::new(Deadline::default());
        if limits.timeout.is_some() {
            let clock = deadline.clone();
            inner.progress_handler(PROGRESS_STEPS, Some(move || clock.expired()))?;
        }
        Ok(Self {
            inner,
            limits,
            refused,
            deadline,
        })
    }

    pub(super) fn limits(&self) -> Limits {
        self.limits
    }

    /// Starts one run's clock; it stops when the returned guard is dropped.
    pub(super) fn start_run(&self) -> RunClock<'_> {
        self.deadline.start(self.limits.timeout);
        RunClock(&self.deadline)
    }

    /// Forgets what the authorizer refused before: the next statement starts clean.
    pub(super) fn forget_refusal(&self) {
        if let Ok(mut slot) = self.refused.lock() {
            *slot = None;
        }
    }

    /// `error` with vigil's reason when vigil's guards caused it: SQLite says only "not
    /// authorized" or "interrupted".
    pub(super) fn explain(&self, error: rusqlite::Error) -> rusqlite::Error {
        // Whatever SQLite made of it ("not authorized", "not authorized to use function"), a
        // refusal while this statement was prepared is why it failed.
        let refusal = self.refused.lock().ok().and_then(|mut slot| slot.take());
        if let Some(what) = refusal {
            return refused(&what);
        }
        match error.sqlite_error_code() {
            Some(ErrorCode::AuthorizationForStatementDenied) => refused("this statement"),
            Some(ErrorCode::OperationInterrupted) if self.deadline.passed() => {
                timed_out(self.limits.timeout)
            }
            _ => error,
        }
    }
}

/// The error for a statement vigil does not run.
fn refused(what: &str) -> rusqlite::Error {
    failure(
        ffi::SQLITE_AUTH,
        format!(
            "vigil's SQL is read-only: {what} is not allowed (only SELECT, WITH and read-only \
             PRAGMAs such as table_info run here)"
        ),
    )
}

/// Refuses a prepared statement that would write, whatever the authorizer saw: `VACUUM`
/// (which writes a database file) asks the authorizer nothing while it is prepared.
pub(super) fn only_reading(stmt: &Statement<'_>) -> rusqlite::Result<()> {
    if stmt.readonly() {
        return Ok(());
    }
    let verb = stmt
        .expanded_sql()
        .and_then(|sql| sql.split_whitespace().next().map(str::to_uppercase))
        .unwrap_or_else(|| "this statement".to_owned());
    Err(refused(&format!("{verb}, which writes")))
}

/// While alive, the connection's deadline runs.
pub(super) struct RunClock<'a>(&'a Deadline);

impl Drop for RunClock<'_> {
    fn drop(&mut self) {
        self.0.clear();
    }
}
