//! The files a daemon's command line makes it trust, checked before anything starts: the
//! executable, the flagfiles, the config, the enroll secret, the TLS certificates and key, the
//! Kafka SASL password file, and the database directory. `--allow_unsafe` skips the check only when the command line itself
//! says so: a flagfile or a config that others could change must not be able to turn it off.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
};

use clap::Parser as _;

use super::{Kind, Problem, absolute_and_real, problem};
use crate::cli::{Cli, Command, DaemonArgs};

/// One path the daemon trusts, and the flag that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trusted {
    /// What it is, as the refusal names it (`--config_path`, `the vigil executable`).
    pub what: String,
    pub path: PathBuf,
    pub kind: Kind,
}

/// The sentence that refuses to trust `path`: which file, what others can do, and the fix.
pub fn refusal(what: &str, path: &Path, problem: &Problem) -> String {
    format!(
        "{what} {} has unsafe permissions: {}. Only root or the user vigil runs as may be able \
         to change what vigil trusts; fix it with `{}` (--allow_unsafe on the command line skips \
         this check, for tests only)",
        path.display(),
        problem.reason,
        problem.fix
    )
}

/// Whether `--allow_unsafe` is on the command line as given (a flagfile's does not count).
pub fn allowed_on_command_line(argv: &[OsString]) -> bool {
    matches!(
        Cli::try_parse_from(argv).map(|cli| cli.command),
        Ok(Command::Daemon(args)) if args.watchdog.allow_unsafe
    )
}

/// The `--flagfile` arguments of the command line as given.
fn flagfiles(argv: &[OsString]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut args = argv.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        if let Some(path) = arg.strip_prefix("--flagfile=") {
            found.push(PathBuf::from(path));
        } else if arg == "--flagfile"
            && let Some(path) = args.next()
        {
            found.push(PathBuf::from(path.as_ref()));
        }
    }
    found
}

/// The database directory, or, before it exists, the nearest directory above it that does
/// (the daemon creates the rest, owner-only).
fn database_directory(path: &Path) -> PathBuf {
    let (absolute, _) = absolute_and_real(path);
    absolute
        .ancestors()
        .find(|dir| dir.exists())
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

/// Every path the daemon started with `argv` (parsed as `args`) trusts.
pub fn trusted(args: &DaemonArgs, argv: &[OsString], executable: &Path) -> Vec<Trusted> {
    let file = |what: &str, path: &Path| Trusted {
        what: what.to_owned(),
        path: path.to_owned(),
        kind: Kind::File,
    };
    let mut list = vec![Trusted {
        what: "the vigil executable".to_owned(),
        path: executable.to_owned(),
        kind: Kind::Executable,
    }];
    list.extend(flagfiles(argv).iter().map(|p| file("--flagfile", p)));
    let remote = &args.remote;
    let files = [
        ("--config_path", &args.events.config_path),
        ("--enroll_secret_path", &remote.enroll_secret_path),
        ("--tls_server_certs", &remote.tls_server_certs),
        ("--tls_client_cert", &remote.tls_client_cert),
        ("--tls_client_key", &remote.tls_client_key),
        (
            "--logger_kafka_sasl_password_file",
            &args.pipelines.logger_kafka_sasl_password_file,
        ),
    ];
    list.extend(
        files
            .into_iter()
            .filter_map(|(what, path)| path.as_deref().map(|p| file(what, p))),
    );
    let database = database_directory(&args.database_path);
    let what = if database == args.database_path {
        "--database_path".to_owned()
    } else {
        format!(
            "--database_path {} (not there yet): its nearest directory",
            args.database_path.display()
        )
    };
    list.push(Trusted {
        what,
        path: database,
        kind: Kind::Directory,
    });
    list
}

/// Refuses (one sentence per unsafe path) unless every trusted path is safe. Paths that do not
/// exist are left to whoever reads them, which says so.
pub fn check(
    args: &DaemonArgs,
    argv: &[OsString],
    executable: &Path,
    euid: u32,
) -> Result<(), String> {
    let refusals: Vec<String> = trusted(args, argv, executable)
        .iter()
        .filter(|t| t.kind == Kind::Executable || t.path.exists())
        .filter_map(|t| {
            let (absolute, real) = absolute_and_real(&t.path);
            // The path as given is checked too when it goes through a symbolic link: whoever
            // can change the link's directory can point it elsewhere.
            let through_link = (absolute != real)
                .then(|| problem(&absolute, &absolute, t.kind, euid))
                .flatten();
            problem(&absolute, &real, t.kind, euid)
                .or(through_link)
                .map(|p| refusal(&t.what, &real, &p))
        })
        .collect();
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(refusals.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use std::{fs::Permissions, os::unix::fs::PermissionsExt as _};

    use super::*;

    fn euid() -> u32 {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() }
    }

    fn argv(args: &[String]) -> Vec<OsString> {
        ["vigil", "daemon"]
            .iter()
            .map(OsString::from)
            .chain(args.iter().map(OsString::from))
            .collect()
    }

    fn daemon_args(argv: &[OsString]) -> DaemonArgs {
        match Cli::try_parse_from(argv).map(|c| c.command) {
            Ok(Command::Daemon(args)) => *args,
            other => panic!("not a daemon command line: {other:?}"),
        }
    }

    /// A directory only its owner can change, with an executable in it, and a file per flag.
    struct Setup {
        dir: tempfile::TempDir,
        exe: PathBuf,
    }

    impl Setup {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("dir");
            std::fs::set_permissions(dir.path(), Permissions::from_mode(0o755)).expect("chmod");
            let exe = dir.path().join("vigil");
            std::fs::write(&exe, b"#").expect("exe");
            std::fs::set_permissions(&exe, Permissions::from_mode(0o755)).expect("chmod");
            Self { dir, exe }
        }

        fn file(&self, name: &str, mode: u32) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::write(&path, b"x").expect("file");
            std::fs::set_permissions(&path, Permissions::from_mode(mode)).expect("chmod");
            path
        }

        fn check(&self, args: &[String]) -> Result<(), String> {
            let argv = argv(args);
            check(&daemon_args(&argv), &argv, &self.exe, euid())
        }
    }

    #[test]
    fn every_file_the_command_line_names_is_checked_and_named_in_its_refusal() {
        let setup = Setup::new();
        let db = setup.dir.path().join("db");
        for flag in [
            "--config_path",
            "--flagfile",
            "--enroll_secret_path",
            "--tls_server_certs",
            "--tls_client_cert",
            "--tls_client_key",
            "--logger_kafka_sasl_password_file",
        ] {
            let safe = setup.file(&format!("{flag}-safe"), 0o644);
            let flagfile_text = (flag == "--flagfile").then_some("--verbose\n");
            if let Some(text) = flagfile_text {
                std::fs::write(&safe, text).expect("flagfile");
            }
            let args = [
                format!("{flag}={}", safe.display()),
                format!("--database_path={}", db.display()),
            ];
            assert_eq!(setup.check(&args), Ok(()), "{flag} 0644 is safe");

            let unsafe_file = setup.file(&format!("{flag}-group"), 0o664);
            let args = [
                format!("{flag}={}", unsafe_file.display()),
                format!("--database_path={}", db.display()),
            ];
            let refusal = setup
                .check(&args)
                .expect_err("a group-writable file is refused");
            assert!(
                refusal.starts_with(&format!(
                    "{flag} {} has unsafe permissions: its group",
                    unsafe_file.display()
                )),
                "{refusal}"
            );
            assert!(
                refusal.contains(&format!("`chmod go-w {}`", unsafe_file.display())),
                "the fix is named: {refusal}"
            );
        }
    }

    #[test]
    fn a_world_writable_file_an_acl_and_a_foreign_owner_are_refused_with_their_fix() {
        let setup = Setup::new();
        let world = setup.file("world.conf", 0o646);
        let refusal = setup
            .check(&[format!("--config_path={}", world.display())])
            .expect_err("world-writable");
        assert!(
            refusal.contains("other users can write it (mode 646)"),
            "{refusal}"
        );

        if euid() == 0 {
            let foreign = setup.file("foreign.pem", 0o644);
            std::os::unix::fs::chown(&foreign, Some(65534), None).expect("chown");
            let refusal = setup
                .check(&[format!("--tls_server_certs={}", foreign.display())])
                .expect_err("owned by nobody");
            assert!(refusal.contains("it is owned by uid 65534"), "{refusal}");
            assert!(
                refusal.contains(&format!("`chown root {}`", foreign.display())),
                "{refusal}"
            );
        }
    }

    #[test]
    fn a_file_reached_through_a_link_in_an_unsafe_directory_is_refused() {
        let setup = Setup::new();
        let target = setup.file("secret", 0o600);
        let shared = setup.dir.path().join("shared");
        std::fs::create_dir(&shared).expect("shared");
        std::fs::set_permissions(&shared, Permissions::from_mode(0o777)).expect("chmod");
        let link = shared.join("secret");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let refusal = setup
            .check(&[format!("--enroll_secret_path={}", link.display())])
            .expect_err("the link's directory is world-writable");
        assert!(
            refusal.contains(&format!("its directory {} is unsafe", shared.display())),
            "{refusal}"
        );
    }

    #[test]
    fn the_database_directory_or_the_one_it_will_be_made_in_is_checked() {
        let setup = Setup::new();
        let db = setup.dir.path().join("db");
        std::fs::create_dir(&db).expect("db");
        std::fs::set_permissions(&db, Permissions::from_mode(0o777)).expect("chmod");
        let refusal = setup
            .check(&[format!("--database_path={}", db.display())])
            .expect_err("a world-writable database");
        assert!(
            refusal.starts_with(&format!("--database_path {} has unsafe", db.display())),
            "{refusal}"
        );

        let shared = setup.dir.path().join("shared");
        std::fs::create_dir(&shared).expect("shared");
        std::fs::set_permissions(&shared, Permissions::from_mode(0o1777)).expect("chmod");
        let future = shared.join("a/db");
        let refusal = setup
            .check(&[format!("--database_path={}", future.display())])
            .expect_err("to be made in a sticky shared directory");
        assert!(
            refusal.contains("(not there yet): its nearest directory"),
            "{refusal}"
        );
        let file = setup.file("not-a-dir", 0o644);
        let refusal = setup
            .check(&[format!("--database_path={}", file.display())])
            .expect_err("a file");
        assert!(refusal.contains("it is not a directory"), "{refusal}");
    }

    #[test]
    fn the_executable_is_checked_at_start() {
        let setup = Setup::new();
        std::fs::set_permissions(&setup.exe, Permissions::from_mode(0o775)).expect("chmod");
        let refusal = setup.check(&[]).expect_err("group-writable executable");
        assert!(
            refusal.starts_with(&format!(
                "the vigil executable {} has unsafe permissions",
                setup.exe.display()
            )),
            "{refusal}"
        );
    }

    #[test]
    fn only_the_command_line_itself_allows_unsafe() {
        let setup = Setup::new();
        let flagfile = setup.file("flags", 0o644);
        std::fs::write(&flagfile, "--allow_unsafe\n").expect("flagfile");
        assert!(allowed_on_command_line(&argv(&["--allow_unsafe".into()])));
        assert!(!allowed_on_command_line(&argv(&[
            "--allow_unsafe=false".into()
        ])));
        assert!(!allowed_on_command_line(&argv(&[format!(
            "--flagfile={}",
            flagfile.display()
        )])));
        assert_eq!(
            flagfiles(&argv(&[
                "--flagfile".into(),
                "/a".into(),
                "--flagfile=/b".into()
            ])),
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
    }
}
