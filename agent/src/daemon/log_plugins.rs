//! `--logger_plugin`: which loggers get result and status lines.

use anyhow::bail;
use vigil_state::logs::Sink;

/// `--logger_plugin`: which sinks get result and status lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPlugins {
    pub filesystem: bool,
    pub tls: bool,
}

impl LogPlugins {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut plugins = Self {
            filesystem: false,
            tls: false,
        };
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "filesystem" => plugins.filesystem = true,
                "tls" => plugins.tls = true,
                other => bail!(
                    "--logger_plugin: unknown plugin `{other}`; vigil has `filesystem` and `tls` \
                     (both: `filesystem,tls`)"
                ),
            }
        }
        if !plugins.filesystem && !plugins.tls {
            bail!("--logger_plugin is empty; give `filesystem`, `tls` or `filesystem,tls`");
        }
        Ok(plugins)
    }

    pub fn sinks(self) -> Vec<Sink> {
        let mut sinks = Vec::new();
        if self.filesystem {
            sinks.push(Sink::Filesystem);
        }
        if self.tls {
            sinks.push(Sink::Tls);
        }
        sinks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logger_plugins_are_a_comma_list_of_known_names() {
        let both = LogPlugins::parse("filesystem,tls").expect("both");
        assert_eq!(both.sinks(), vec![Sink::Filesystem, Sink::Tls]);
        assert_eq!(
            LogPlugins::parse(" tls ").expect("tls").sinks(),
            vec![Sink::Tls]
        );
        let unknown = LogPlugins::parse("filesystem,kafka").expect_err("unknown");
        assert!(unknown.to_string().contains("`kafka`"), "{unknown}");
        assert!(LogPlugins::parse("").is_err());
    }
}
