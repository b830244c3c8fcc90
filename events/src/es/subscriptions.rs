//! Which Endpoint Security clients vigil starts and what each subscribes to, from osquery's
//! flags: `--disable_endpointsecurity` (both clients; osquery's default is off),
//! `--disable_endpointsecurity_fim` (the file client; off by default too) and
//! `--es_fim_enable_open_events` (NOTIFY_OPEN, many). A table switched off by the config
//! (`events.disable_subscribers`) has no client at all.

use crate::publisher::EsSettings;

/// The notifications vigil subscribes to, named as ES names them (`ES_EVENT_TYPE_NOTIFY_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    Exec,
    Fork,
    Exit,
    Create,
    Rename,
    Write,
    Truncate,
    Unlink,
    Open,
}

/// What one client does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientPlan {
    /// Started, subscribed to these.
    Subscribe(Vec<Notify>),
    /// Not started: a flag turns it off; why, and the flag that turns it on, for
    /// `vigil_events.unavailable_reason`.
    Off(&'static str),
    /// Not started: the config switched its table off.
    NotWanted,
}

/// The plan of both clients: process events, then file events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriptions {
    pub process: ClientPlan,
    pub file: ClientPlan,
}

const ES_OFF: &str = "Endpoint Security is off (--disable_endpointsecurity=true, osquery's \
                      default); --disable_endpointsecurity=false turns it on";
const FIM_OFF: &str = "Endpoint Security's file events are off (--disable_endpointsecurity_fim=\
                       true, osquery's default); --disable_endpointsecurity=false with \
                       --disable_endpointsecurity_fim=false turns them on";

/// Which tables the config wants (not in `events.disable_subscribers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// `es_process_events`.
    pub process: bool,
    /// `es_process_file_events`.
    pub file: bool,
}

impl Wanted {
    pub const BOTH: Self = Self {
        process: true,
        file: true,
    };
}

/// The clients' plan for these settings and the tables the config wants.
pub fn subscriptions(es: &EsSettings, wanted: Wanted) -> Subscriptions {
    let process = if !wanted.process {
        ClientPlan::NotWanted
    } else if !es.enabled {
        ClientPlan::Off(ES_OFF)
    } else {
        ClientPlan::Subscribe(vec![Notify::Exec, Notify::Fork, Notify::Exit])
    };
    let file = if !wanted.file {
        ClientPlan::NotWanted
    } else if !es.enabled {
        ClientPlan::Off(ES_OFF)
    } else if !es.fim_enabled {
        ClientPlan::Off(FIM_OFF)
    } else {
        let mut events = vec![
            Notify::Create,
            Notify::Rename,
            Notify::Write,
            Notify::Truncate,
            Notify::Unlink,
        ];
        if es.open_events {
            events.push(Notify::Open);
        }
        ClientPlan::Subscribe(events)
    };
    Subscriptions { process, file }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> EsSettings {
        EsSettings {
            enabled: true,
            fim_enabled: true,
            ..EsSettings::default()
        }
    }

    const FILE_EVENTS: [Notify; 5] = [
        Notify::Create,
        Notify::Rename,
        Notify::Write,
        Notify::Truncate,
        Notify::Unlink,
    ];

    #[test]
    fn osquerys_defaults_start_no_client_and_say_which_flag_turns_each_on() {
        let plan = subscriptions(&EsSettings::default(), Wanted::BOTH);
        assert_eq!(plan.process, ClientPlan::Off(ES_OFF));
        assert_eq!(plan.file, ClientPlan::Off(ES_OFF));
        assert!(ES_OFF.contains("--disable_endpointsecurity=false"));
    }

    #[test]
    fn fim_needs_its_own_flag_and_open_events_are_opt_in() {
        let process_only = EsSettings {
            fim_enabled: false,
            ..on()
        };
        let plan = subscriptions(&process_only, Wanted::BOTH);
        assert_eq!(
            plan.process,
            ClientPlan::Subscribe(vec![Notify::Exec, Notify::Fork, Notify::Exit])
        );
        assert_eq!(plan.file, ClientPlan::Off(FIM_OFF));
        assert!(FIM_OFF.contains("--disable_endpointsecurity_fim=false"));

        assert_eq!(
            subscriptions(&on(), Wanted::BOTH).file,
            ClientPlan::Subscribe(FILE_EVENTS.to_vec())
        );
        let with_opens = EsSettings {
            open_events: true,
            ..on()
        };
        let mut all = FILE_EVENTS.to_vec();
        all.push(Notify::Open);
        assert_eq!(
            subscriptions(&with_opens, Wanted::BOTH).file,
            ClientPlan::Subscribe(all)
        );
    }

    #[test]
    fn a_table_the_config_switched_off_has_no_client_whatever_the_flags() {
        let plan = subscriptions(
            &on(),
            Wanted {
                process: true,
                file: false,
            },
        );
        assert_eq!(plan.file, ClientPlan::NotWanted);
        assert!(matches!(plan.process, ClientPlan::Subscribe(_)));
        let plan = subscriptions(
            &EsSettings::default(),
            Wanted {
                process: false,
                file: true,
            },
        );
        assert_eq!(plan.process, ClientPlan::NotWanted);
    }
}
