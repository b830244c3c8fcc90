//! `docker_containers`: the containers a Docker daemon knows, asked over its unix socket
//! (`/var/run/docker.sock`) with read-only `GET` requests of the Engine API: the list
//! (`/containers/json?all=1`), then each container's inspection. No socket: no rows. Answers are
//! bounded in size and time.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value as Json;

use crate::row::table_row;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "docker_containers";
const SOCKET: &str = "/var/run/docker.sock";
const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;
const MAX_CONTAINERS: usize = 10_000;

table_row! {
    struct DockerContainerRow {
        id: Text,
        name: Text,
        image: Text,
        image_id: Text,
        command: Text,
        created: BigInt,
        state: Text,
        status: Text,
        pid: BigInt,
        path: Text,
        config_entrypoint: Text,
        started_at: Text,
        finished_at: Text,
        privileged: Integer,
        security_options: Text,
        env_variables: Text,
        readonly_rootfs: Integer,
        cgroup_namespace: Text,
        ipc_namespace: Text,
        mnt_namespace: Text,
        net_namespace: Text,
        pid_namespace: Text,
        user_namespace: Text,
        uts_namespace: Text,
    }
}

pub struct DockerContainers;

impl Table for DockerContainers {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        DockerContainerRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[DockerContainerRow::id, DockerContainerRow::name]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let socket = Path::new(SOCKET);
        if !socket.exists() {
            return Ok(rows(Vec::new()));
        }
        let ids: Vec<&str> = request
            .equal_values(DockerContainerRow::id)
            .filter_map(Value::as_text)
            .collect();
        let names: Vec<&str> = request
            .equal_values(DockerContainerRow::name)
            .filter_map(Value::as_text)
            .collect();
        let out = containers(socket, Path::new("/proc"))
            .map_err(|e| failed(NAME, format!("asking the Docker daemon at {SOCKET}: {e}")))?
            .into_iter()
            .filter(|r| {
                ids.is_empty()
                    || r[DockerContainerRow::id]
                        .as_text()
                        .is_some_and(|i| ids.contains(&i))
            })
            .filter(|r| {
                names.is_empty()
                    || r[DockerContainerRow::name]
                        .as_text()
                        .is_some_and(|n| names.contains(&n))
            })
            .collect();
        Ok(rows(out))
    }
}

fn containers(socket: &Path, proc: &Path) -> Result<Vec<Row>, String> {
    let list = get(socket, "/containers/json?all=1")?;
    let Some(list) = list.as_array() else {
        return Err("the container list is not a JSON array".into());
    };
    let mut out = Vec::new();
    for summary in list.iter().take(MAX_CONTAINERS) {
        let Some(id) = summary.get("Id").and_then(Json::as_str) else {
            continue;
        };
        // Only hex ids go into a request path.
        if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        // A container removed between the two requests is left out.
        let Ok(inspect) = get(socket, &format!("/containers/{id}/json")) else {
            continue;
        };
        out.push(row(summary, &inspect, proc));
    }
    Ok(out)
}

fn row(summary: &Json, inspect: &Json, proc: &Path) -> Row {
    let text = |v: Option<&Json>| Value::Text(v.and_then(Json::as_str).unwrap_or("").to_owned());
    let joined = |v: Option<&Json>| {
        Value::Text(
            v.and_then(Json::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Json::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
        )
    };
    let flag = |v: Option<&Json>| Value::from(v.and_then(Json::as_bool).unwrap_or(false));
    let state = inspect.get("State");
    let host_config = inspect.get("HostConfig");
    let config = inspect.get("Config");
    let pid = state
        .and_then(|s| s.get("Pid"))
        .and_then(Json::as_i64)
        .unwrap_or(0);
    let namespace = |kind: &str| -> Value {
        if pid <= 0 {
            return Value::from("");
        }
        let link = std::fs::read_link(proc.join(pid.to_string()).join("ns").join(kind)).ok();
        let inode = link.and_then(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.split_once(":[")?.1.strip_suffix(']')?.to_owned())
        });
        Value::Text(inode.unwrap_or_default())
    };
    let name = summary
        .get("Names")
        .and_then(Json::as_array)
        .and_then(|n| n.first())
        .and_then(Json::as_str)
        .or_else(|| inspect.get("Name").and_then(Json::as_str))
        .unwrap_or("");
    DockerContainerRow {
        id: text(summary.get("Id")),
        name: name.into(),
        image: text(summary.get("Image")),
        image_id: text(summary.get("ImageID")),
        command: text(summary.get("Command")),
        created: Value::Int(summary.get("Created").and_then(Json::as_i64).unwrap_or(0)),
        state: text(summary.get("State")),
        status: text(summary.get("Status")),
        pid: Value::Int(pid),
        path: text(inspect.get("Path")),
        config_entrypoint: joined(config.and_then(|c| c.get("Entrypoint"))),
        started_at: text(state.and_then(|s| s.get("StartedAt"))),
        finished_at: text(state.and_then(|s| s.get("FinishedAt"))),
        privileged: flag(host_config.and_then(|h| h.get("Privileged"))),
        security_options: joined(host_config.and_then(|h| h.get("SecurityOpt"))),
        env_variables: joined(config.and_then(|c| c.get("Env"))),
        readonly_rootfs: flag(host_config.and_then(|h| h.get("ReadonlyRootfs"))),
        cgroup_namespace: namespace("cgroup"),
        ipc_namespace: namespace("ipc"),
        mnt_namespace: namespace("mnt"),
        net_namespace: namespace("net"),
        pid_namespace: namespace("pid"),
        user_namespace: namespace("user"),
        uts_namespace: namespace("uts"),
    }
    .into()
}

/// One read-only `GET` over the socket, HTTP/1.0 so the body is sent whole and the daemon
/// closes the connection after it; the body must be JSON and the status 200.
fn get(socket: &Path, path: &str) -> Result<Json, String> {
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: docker\r\nAccept: application/json\r\n\r\n"
    )
    .map_err(|e| format!("request: {e}"))?;
    let mut response = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES + 1)
        .read_to_end(&mut response)
        .map_err(|e| format!("answer: {e}"))?;
    if response.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(format!(
            "answer to GET {path} is larger than {MAX_RESPONSE_BYTES} bytes"
        ));
    }
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("an answer without HTTP headers")?;
    let head = String::from_utf8_lossy(response.get(..split).unwrap_or(&[])).into_owned();
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("GET {path}: HTTP status {status}"));
    }
    let body = response.get(split + 4..).unwrap_or(&[]);
    serde_json::from_slice(body).map_err(|e| format!("GET {path}: not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::os::unix::net::UnixListener;

    /// A daemon on a unix socket answering the Engine API's two requests with recorded
    /// answers (trimmed), and 404 for a container that disappeared.
    fn fake_daemon(socket: &Path) -> std::thread::JoinHandle<Vec<String>> {
        let listener = UnixListener::bind(socket).expect("bind");
        std::thread::spawn(move || {
            let mut requests = Vec::new();
            // The container's first process: this test process, whose namespaces are known.
            let inspect = r#"{"Id":"3c4e1f0b9a2d","Path":"/docker-entrypoint.sh","State":{"Status":"running","Pid":PID,"StartedAt":"2023-11-14T22:13:20.1Z","FinishedAt":"0001-01-01T00:00:00Z"},"HostConfig":{"Privileged":true,"ReadonlyRootfs":false,"SecurityOpt":["seccomp=unconfined"]},"Config":{"Env":["PATH=/usr/bin","NGINX_VERSION=1.25.3"],"Entrypoint":["/docker-entrypoint.sh"]}}"#.replace("PID", &std::process::id().to_string());
            for _ in 0..3 {
                let Ok((stream, _)) = listener.accept() else {
                    break;
                };
                let mut reader = std::io::BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).expect("request line");
                requests.push(line.trim().to_owned());
                let (status, body) = if line.contains("/containers/json?all=1") {
                    (
                        "200 OK",
                        r#"[{"Id":"3c4e1f0b9a2d","Names":["/web"],"Image":"nginx:1.25","ImageID":"sha256:a8758716bb6a","Command":"/docker-entrypoint.sh nginx -g 'daemon off;'","Created":1700000000,"State":"running","Status":"Up 2 hours"},{"Id":"ffff0000","Names":["/gone"],"State":"exited"}]"#,
                    )
                } else if line.contains("/containers/3c4e1f0b9a2d/json") {
                    ("200 OK", inspect.as_str())
                } else {
                    ("404 Not Found", r#"{"message":"No such container"}"#)
                };
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.0 {status}\r\nContent-Type: application/json\r\n\r\n{body}"
                );
            }
            requests
        })
    }

    #[test]
    fn containers_from_a_daemon_over_its_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("docker.sock");
        let daemon = fake_daemon(&socket);
        let rows = containers(&socket, Path::new("/proc")).expect("containers");
        let requests = daemon.join().expect("daemon");
        assert!(
            requests.iter().all(|r| r.starts_with("GET ")),
            "read-only: {requests:?}"
        );
        assert_eq!(rows.len(), 1, "the container that disappeared is left out");
        let web = &rows[0];
        assert_eq!(web[DockerContainerRow::id], Value::from("3c4e1f0b9a2d"));
        assert_eq!(web[DockerContainerRow::name], Value::from("/web"));
        assert_eq!(web[DockerContainerRow::image], Value::from("nginx:1.25"));
        assert_eq!(web[DockerContainerRow::created], Value::Int(1_700_000_000));
        assert_eq!(web[DockerContainerRow::state], Value::from("running"));
        assert_eq!(
            web[DockerContainerRow::pid],
            Value::Int(i64::from(std::process::id()))
        );
        assert_eq!(web[DockerContainerRow::privileged], Value::Int(1));
        assert_eq!(web[DockerContainerRow::readonly_rootfs], Value::Int(0));
        assert_eq!(
            web[DockerContainerRow::security_options],
            Value::from("seccomp=unconfined")
        );
        assert_eq!(
            web[DockerContainerRow::env_variables],
            Value::from("PATH=/usr/bin, NGINX_VERSION=1.25.3")
        );
        assert_eq!(
            web[DockerContainerRow::config_entrypoint],
            Value::from("/docker-entrypoint.sh")
        );
        // Namespaces are those of the container's first process (this process here).
        let mnt = std::fs::read_link("/proc/self/ns/mnt")
            .expect("own namespace")
            .to_string_lossy()
            .into_owned();
        assert!(
            mnt.contains(
                web[DockerContainerRow::mnt_namespace]
                    .as_text()
                    .expect("mnt")
            )
        );
    }

    #[test]
    fn no_socket_no_rows() {
        if !Path::new(SOCKET).exists() {
            let rows: Vec<Row> = DockerContainers
                .scan(&ScanRequest::default())
                .expect("scan")
                .collect::<Result<_, _>>()
                .expect("rows");
            assert!(rows.is_empty());
        }
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(containers(&dir.path().join("none.sock"), Path::new("/proc")).is_err());
    }
}
