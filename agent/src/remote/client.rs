//! Requests to the TLS server as osquery makes them: JSON POST bodies carrying the node key,
//! enrollment when there is none (or the server calls it invalid), and one check of every answer
//! (`node_invalid`, `error`: `vigil_remote_api::reply`, where the replies are fuzzed).

use std::{
    io::Write as _,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde_json::{Map, Value, json};
use vigil_events::EventStore;
use vigil_remote_api::{
    ReplyError,
    enroll::{self, NodeKeyError},
    reply,
};
use vigil_state::{Commit, remote};

use super::tls::{TlsSetupError, client_config};
use crate::cli::RemoteArgs;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("POST {url}: {detail}")]
    Transport { url: String, detail: String },
    /// The server answered, but not what was asked for.
    #[error("POST {url}: {reply}")]
    Reply { url: String, reply: ReplyError },
    #[error("enrollment needs a secret: give --enroll_secret_path or --enroll_secret_env")]
    NoSecret,
    #[error("enrollment at {url} {problem}")]
    NodeKey { url: String, problem: NodeKeyError },
    #[error("the daemon is stopping")]
    Stopping,
}

impl RemoteError {
    /// Whether the server answered and refused the request (as opposed to being out of reach).
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Reply { reply, .. } if reply.is_refusal())
    }
}

/// What the server is told about this host when it enrolls.
pub type HostDetails = Box<dyn Fn() -> Value + Send + Sync>;

pub struct Remote {
    http: reqwest::blocking::Client,
    base: String,
    enroll_endpoint: String,
    secret: Option<String>,
    enroll_max_attempts: u32,
    enroll_max_interval: Duration,
    host_identifier: String,
    host_details: HostDetails,
    store: Arc<EventStore>,
    node_key: Mutex<Option<String>>,
    /// Held while enrolling: threads that find no key wait for one enrollment, not one each.
    enrolling: Mutex<()>,
    stopping: AtomicBool,
}

/// An error with its causes, as one line: reqwest's own message hides what TLS said.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteSetupError {
    #[error("--tls_hostname is required for the TLS {0}")]
    NoHostname(&'static str),
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    #[error("--enroll_secret_path {path}: {source}")]
    Secret {
        path: String,
        source: std::io::Error,
    },
    #[error("building the HTTPS client: {0}")]
    Client(String),
}

impl Remote {
    pub fn new(
        args: &RemoteArgs,
        needed_for: &'static str,
        store: Arc<EventStore>,
        host_identifier: String,
        host_details: HostDetails,
    ) -> Result<Self, RemoteSetupError> {
        if args.tls_hostname.trim().is_empty() {
            return Err(RemoteSetupError::NoHostname(needed_for));
        }
        let tls = client_config(
            args.tls_server_certs.as_deref(),
            args.tls_client_cert.as_deref(),
            args.tls_client_key.as_deref(),
        )?;
        let http = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(Duration::from_secs(args.tls_request_timeout.max(1)))
            // The node key and the enroll secret go to --tls_hostname only: a redirect, to another
            // host or to plain HTTP, is reported, never followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RemoteSetupError::Client(chain(&e)))?;
        let secret = match (&args.enroll_secret_path, &args.enroll_secret_env) {
            (Some(path), _) => Some(
                std::fs::read_to_string(path)
                    .map_err(|source| RemoteSetupError::Secret {
                        path: path.display().to_string(),
                        source,
                    })?
                    .trim()
                    .to_owned(),
            ),
            (None, Some(var)) => std::env::var(var).ok().map(|s| s.trim().to_owned()),
            (None, None) => None,
        };
        let node_key = remote::NODE_KEY
            .get(&store)
            .ok()
            .flatten()
            .filter(|k| !k.is_empty() && enroll::is_sendable(k));
        Ok(Self {
            http,
            base: format!("https://{}", args.tls_hostname.trim()),
            enroll_endpoint: args.enroll_tls_endpoint.clone(),
            secret,
            enroll_max_attempts: args.tls_enroll_max_attempts,
            enroll_max_interval: Duration::from_secs(args.tls_enroll_max_interval),
            host_identifier,
            host_details,
            store,
            node_key: Mutex::new(node_key),
            enrolling: Mutex::new(()),
            stopping: AtomicBool::new(false),
        })
    }

    /// Ends waits between enrollment attempts: the daemon is stopping.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}{endpoint}", self.base)
    }

    /// One POST; the answer checked as osquery checks every answer.
    fn send(
        &self,
        endpoint: &str,
        body: &Value,
        gzip: bool,
        node_key: Option<&str>,
    ) -> Result<Map<String, Value>, RemoteError> {
        let url = self.url(endpoint);
        let transport = |detail: String| RemoteError::Transport {
            url: url.clone(),
            detail,
        };
        let mut bytes = serde_json::to_vec(body).map_err(|e| transport(e.to_string()))?;
        let mut request = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::USER_AGENT,
                concat!("vigil/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(key) = node_key {
            request = request.header(reqwest::header::AUTHORIZATION, format!("NodeKey {key}"));
        }
        if gzip {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder
                .write_all(&bytes)
                .map_err(|e| transport(e.to_string()))?;
            bytes = encoder.finish().map_err(|e| transport(e.to_string()))?;
            request = request.header(reqwest::header::CONTENT_ENCODING, "gzip");
        }
        let response = request
            .body(bytes)
            .send()
            .map_err(|e| transport(chain(&e)))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok());
        reply::check_status(status, location).map_err(|reply| RemoteError::Reply {
            url: url.clone(),
            reply,
        })?;
        let text = response.text().map_err(|e| transport(chain(&e)))?;
        reply::check(status, &text).map_err(|reply| {
            if reply == ReplyError::NodeInvalid
                && let Some(rejected) = node_key
            {
                self.forget_node_key(rejected);
            }
            RemoteError::Reply { url, reply }
        })
    }

    /// Forgets `rejected`, unless another thread has enrolled again meanwhile.
    fn forget_node_key(&self, rejected: &str) {
        if let Ok(mut key) = self.node_key.lock() {
            if key.as_deref() != Some(rejected) {
                return;
            }
            *key = None;
        }
        let mut forget = Commit::default();
        remote::forget_node_key(&mut forget);
        let _ = forget.apply(&self.store);
    }

    /// The cached node key, or a new one from enrolling (retried as `--tls_enroll_max_attempts`
    /// says, or tried once with `retry` false).
    fn node_key(&self, retry: bool) -> Result<String, RemoteError> {
        let cached = || self.node_key.lock().ok().and_then(|k| k.clone());
        if let Some(key) = cached() {
            return Ok(key);
        }
        let _one_at_a_time = self.enrolling.lock();
        if let Some(key) = cached() {
            return Ok(key);
        }
        let key = if retry {
            self.enroll()?
        } else {
            self.enroll_once(self.secret.as_deref().ok_or(RemoteError::NoSecret)?)?
        };
        if let Ok(mut cached) = self.node_key.lock() {
            *cached = Some(key.clone());
        }
        Ok(key)
    }

    /// Enrolls, retrying `--tls_enroll_max_attempts` times with waits growing as attempt².
    fn enroll(&self) -> Result<String, RemoteError> {
        let secret = self.secret.clone().ok_or(RemoteError::NoSecret)?;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match self.enroll_once(&secret) {
                Ok(key) => return Ok(key),
                Err(error)
                    if self.enroll_max_attempts == 0 || attempt < self.enroll_max_attempts =>
                {
                    let wait = Duration::from_secs(u64::from(attempt).pow(2))
                        .min(self.enroll_max_interval);
                    tracing::warn!(
                        attempt,
                        "enrollment failed, retrying in {} s: {error}",
                        wait.as_secs()
                    );
                    let until = std::time::Instant::now() + wait;
                    while std::time::Instant::now() < until {
                        if self.stopping.load(Ordering::Relaxed) {
                            return Err(RemoteError::Stopping);
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn enroll_once(&self, secret: &str) -> Result<String, RemoteError> {
        let body = json!({
            "enroll_secret": secret,
            "host_identifier": self.host_identifier,
            "platform_type": vigil_tables::agent::vigil_info::PLATFORM_MASK_LINUX.to_string(),
            "host_details": (self.host_details)(),
        });
        let answer = self.send(&self.enroll_endpoint, &body, false, None)?;
        let key = enroll::node_key(&answer).map_err(|problem| RemoteError::NodeKey {
            url: self.url(&self.enroll_endpoint),
            problem,
        })?;
        let mut enrolled = Commit::default();
        remote::enrolled(
            &mut enrolled,
            &key,
            vigil_events::wall_clock::unix_seconds(),
        );
        let _ = enrolled.apply(&self.store);
        tracing::info!(url = %self.url(&self.enroll_endpoint), "enrolled with the TLS server");
        Ok(key)
    }

    /// POSTs `body` (an object) with this node's key, enrolling first if needed.
    pub fn post(
        &self,
        endpoint: &str,
        body: Map<String, Value>,
        gzip: bool,
    ) -> Result<Map<String, Value>, RemoteError> {
        self.post_with(endpoint, body, gzip, true)
    }

    /// As `post`, but an enrollment it needs is tried once, without waiting to retry: for what
    /// must not hold the daemon's start up.
    pub fn post_once(
        &self,
        endpoint: &str,
        body: Map<String, Value>,
    ) -> Result<Map<String, Value>, RemoteError> {
        self.post_with(endpoint, body, false, false)
    }

    fn post_with(
        &self,
        endpoint: &str,
        mut body: Map<String, Value>,
        gzip: bool,
        retry_enrollment: bool,
    ) -> Result<Map<String, Value>, RemoteError> {
        let key = self.node_key(retry_enrollment)?;
        body.insert("node_key".into(), Value::String(key.clone()));
        self.send(endpoint, &Value::Object(body), gzip, Some(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `enroll::is_sendable` is the rule of the header type the requests are built with: a
    /// key it passes can be sent back, and one it refuses would fail every request.
    #[test]
    fn the_node_keys_taken_are_those_the_authorization_header_can_carry() {
        let odd_chars = (0u8..=0x7f).map(char::from).chain(['é', '€', '\u{85}']);
        for c in odd_chars {
            let key = format!("key{c}end");
            let header = reqwest::header::HeaderValue::from_str(&format!("NodeKey {key}"));
            assert_eq!(
                enroll::is_sendable(&key),
                header.is_ok(),
                "{key:?}: the enrollment check and the header disagree"
            );
        }
    }
}
