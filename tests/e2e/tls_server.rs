//! A TLS server speaking osquery's remote API, for the tests: certificates generated here
//! (rcgen), HTTPS with rustls and hyper, the four endpoints, and a record of what it received.
//! Tests make it fail on purpose: down, HTTP 500, hanging, answering garbage, or declaring the
//! node key invalid.

use std::{
    io::Read as _,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, body::Bytes, service::service_fn};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use tokio_rustls::TlsAcceptor;

pub const SECRET: &str = "e2e-enroll-secret";

/// A certificate authority and the files a client needs.
pub struct Pki {
    pub dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA")
}

pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pki {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("dir"),
            ca: ca("vigil e2e CA"),
        }
    }

    /// The CA certificate, as `--tls_server_certs` takes it.
    pub fn ca_file(&self) -> PathBuf {
        let path = self.dir.path().join("ca.pem");
        std::fs::write(&path, self.ca.pem()).expect("ca.pem");
        path
    }

    /// Another CA's certificate: it did not sign the server's.
    pub fn other_ca_file(&self) -> PathBuf {
        let path = self.dir.path().join("other-ca.pem");
        std::fs::write(&path, ca("someone else").pem()).expect("other-ca.pem");
        path
    }

    /// A certificate signed by this CA for `names`; `expired` puts its validity in the past.
    pub fn identity(&self, names: &[&str], client: bool, expired: bool) -> Identity {
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params.signed_by(&key, &self.ca).expect("sign");
        Identity {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A client certificate and key as files (`--tls_client_cert`, `--tls_client_key`).
    pub fn client_files(&self) -> (PathBuf, PathBuf) {
        let identity = self.identity(&["vigil-client"], true, false);
        let cert = self.dir.path().join("client.pem");
        let key = self.dir.path().join("client.key");
        std::fs::write(&cert, identity.cert_pem).expect("client.pem");
        std::fs::write(&key, identity.key_pem).expect("client.key");
        (cert, key)
    }

    fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }
}

/// How the server answers. `State::behavior` spares enrollment, which always works;
/// `State::path_behavior` applies to its path, enrollment's too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    Healthy,
    Error500,
    /// Answers after far longer than any request timeout.
    Hang,
    Garbage,
    /// HTTP 307 to the same path on another port of localhost (another server of the test).
    RedirectTo(u16),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub gzip: bool,
    pub body: Value,
    /// Whether the server accepted it (answered 200 with JSON).
    pub accepted: bool,
}

pub struct State {
    pub behavior: Behavior,
    /// A behavior for one endpoint only, over `behavior`.
    pub path_behavior: Option<(String, Behavior)>,
    pub received: Vec<Received>,
    pub issued_keys: Vec<String>,
    pub enrollments: usize,
    /// The next request that carries a node key is told the key is invalid.
    pub invalidate_next: bool,
    pub config: Value,
    /// Handed out by the next distributed read, once.
    pub distributed: Option<Value>,
    /// Distributed writes carrying this query's result are answered HTTP 500.
    pub refuse_result_of: Option<String>,
}

pub struct TlsServer {
    pub port: u16,
    state: Arc<Mutex<State>>,
    runtime: tokio::runtime::Runtime,
    acceptor: TlsAcceptor,
    accepting: Option<tokio::task::JoinHandle<()>>,
    /// Open connections, closed when the server goes down (clients keep them alive).
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

fn respond(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    response
}

async fn handle(
    state: Arc<Mutex<State>>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = request.uri().path().to_owned();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization");
    let gzip = header("content-encoding").as_deref() == Some("gzip");
    let raw = request.into_body().collect().await?.to_bytes();
    let bytes = if gzip {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut text)
            .expect("a gzip body");
        text
    } else {
        raw.to_vec()
    };
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let enroll = path.ends_with("/enroll");
    let behavior = {
        let mut state = state.lock().expect("state");
        let refused_result = path.ends_with("/distributed/write")
            && state
                .refuse_result_of
                .as_ref()
                .is_some_and(|id| body["queries"].get(id).is_some());
        let behavior = match &state.path_behavior {
            Some((only, behavior)) if *only == path => *behavior,
            _ if refused_result => Behavior::Error500,
            _ if enroll => Behavior::Healthy,
            _ => state.behavior,
        };
        if behavior != Behavior::Healthy {
            state.received.push(Received {
                path: path.clone(),
                authorization: authorization.clone(),
                gzip,
                body: body.clone(),
                accepted: false,
            });
        }
        behavior
    };
    match behavior {
        Behavior::Healthy => {}
        Behavior::Error500 => return Ok(respond(500, "internal error".into())),
        Behavior::Garbage => return Ok(respond(200, "<html>not json{".into())),
        Behavior::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return Ok(respond(200, "{}".into()));
        }
        Behavior::RedirectTo(port) => {
            let mut response = respond(307, String::new());
            let location = format!("https://localhost:{port}{path}");
            response.headers_mut().insert(
                hyper::header::LOCATION,
                hyper::header::HeaderValue::from_str(&location).expect("a header value"),
            );
            return Ok(response);
        }
    }
    let mut state = state.lock().expect("state");
    let mut record = Received {
        path: path.clone(),
        authorization,
        gzip,
        body: body.clone(),
        accepted: false,
    };
    let answer = if enroll {
        if body["enroll_secret"] == SECRET {
            state.enrollments += 1;
            let key = format!("node-key-{}", state.enrollments);
            state.issued_keys.push(key.clone());
            json!({"node_key": key, "node_invalid": false})
        } else {
            json!({"node_invalid": true, "error": "bad enroll secret"})
        }
    } else {
        let key = body["node_key"].as_str().unwrap_or_default().to_owned();
        if state.invalidate_next || !state.issued_keys.contains(&key) {
            state.invalidate_next = false;
            state.issued_keys.clear();
            json!({"node_invalid": true})
        } else if path.ends_with("/config") {
            state.config.clone()
        } else if path.ends_with("/distributed/read") {
            state
                .distributed
                .take()
                .unwrap_or_else(|| json!({"queries": {}}))
        } else {
            json!({})
        }
    };
    record.accepted = answer.get("node_invalid") != Some(&Value::Bool(true));
    state.received.push(record);
    Ok(respond(200, answer.to_string()))
}

impl TlsServer {
    /// A server for `localhost` and 127.0.0.1 with a certificate from `pki` (or `identity`);
    /// with `client_ca`, clients must present a certificate signed by that CA.
    pub fn start(pki: &Pki, identity: Option<Identity>, require_client_cert: bool) -> Self {
        let identity =
            identity.unwrap_or_else(|| pki.identity(&["localhost", "127.0.0.1"], false, false));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions");
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca_der()).expect("client CA");
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .expect("verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let config = builder
            .with_single_cert(identity.chain, identity.key)
            .expect("server certificate");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut server = Self {
            port,
            state: Arc::new(Mutex::new(State {
                behavior: Behavior::Healthy,
                path_behavior: None,
                received: Vec::new(),
                issued_keys: Vec::new(),
                enrollments: 0,
                invalidate_next: false,
                config: json!({}),
                distributed: None,
                refuse_result_of: None,
            })),
            runtime,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            accepting: None,
            connections: Arc::new(Mutex::new(Vec::new())),
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let acceptor = self.acceptor.clone();
        let state = self.state.clone();
        let connections = self.connections.clone();
        self.accepting = Some(self.runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let state = state.clone();
                let connection = tokio::spawn(async move {
                    // A failed handshake (the client refused our certificate) ends here.
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = service_fn(move |request| handle(state.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
                if let Ok(mut open) = connections.lock() {
                    open.retain(|c| !c.is_finished());
                    open.push(connection.abort_handle());
                }
            }
        }));
    }

    /// `--tls_hostname` for this server.
    pub fn hostname(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// Stops listening: connections are refused.
    pub fn go_down(&mut self) {
        if let Some(task) = self.accepting.take() {
            task.abort();
        }
        for connection in self.connections.lock().expect("connections").drain(..) {
            connection.abort();
        }
        // Let the runtime drop the listener.
        std::thread::sleep(Duration::from_millis(200));
    }

    /// Listens again on the same port.
    pub fn come_back(&mut self) {
        let address: SocketAddr = ([127, 0, 0, 1], self.port).into();
        let listener = self
            .runtime
            .block_on(tokio::net::TcpListener::bind(address))
            .expect("bind again");
        self.serve(listener);
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("state"))
    }

    pub fn received(&self, path: &str) -> Vec<Received> {
        self.with(|s| {
            s.received
                .iter()
                .filter(|r| r.path == path)
                .cloned()
                .collect()
        })
    }

    /// Every line of every accepted log request of `log_type` (`result` or `status`).
    pub fn log_lines(&self, log_type: &str) -> Vec<Value> {
        self.received("/log")
            .into_iter()
            .filter(|r| r.accepted && r.body["log_type"] == log_type)
            .flat_map(|r| r.body["data"].as_array().cloned().unwrap_or_default())
            .collect()
    }
}

/// The flags that point a daemon at `server`, trusting `ca`, enrolling with the right secret.
pub fn remote_args(server: &TlsServer, pki: &Pki, ca: &Path) -> Vec<String> {
    let secret = pki.dir.path().join("secret");
    std::fs::write(&secret, format!("{SECRET}\n")).expect("secret");
    vec![
        format!("--tls_hostname={}", server.hostname()),
        format!("--tls_server_certs={}", ca.display()),
        "--enroll_tls_endpoint=/enroll".into(),
        format!("--enroll_secret_path={}", secret.display()),
        "--tls_request_timeout=3".into(),
        "--tls_enroll_max_attempts=1".into(),
    ]
}
