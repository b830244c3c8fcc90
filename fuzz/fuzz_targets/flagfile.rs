//! Flagfiles: arbitrary bytes as the text of a `--flagfile` (read as UTF-8, as the agent reads
//! it). Parsing never panics, goes line by line (the whole parses as its lines do, one by one),
//! gives each flag as `--name[=value]` or `--name` then its value, and an error names the line
//! at fault.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_config::flagfile::parse_flagfile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_flagfile(text) {
        Ok(args) => {
            let mut by_line = Vec::new();
            for line in text.lines() {
                let args = parse_flagfile(line)
                    .unwrap_or_else(|e| panic!("a line of a good flagfile fails alone: {e}"));
                match args.as_slice() {
                    [] => {}
                    [flag] => assert!(flag.starts_with("--"), "{flag:?}"),
                    [flag, value] => {
                        assert!(
                            flag.starts_with("--") && !flag.contains('='),
                            "{flag:?} before a value"
                        );
                        assert!(
                            !value.is_empty() && value.trim() == value,
                            "value {value:?}"
                        );
                    }
                    more => panic!("one line gave {} arguments: {more:?}", more.len()),
                }
                assert!(
                    args.first().is_none_or(|a| !a.starts_with("--flagfile")),
                    "a nested --flagfile passed: {args:?}"
                );
                by_line.extend(args);
            }
            assert_eq!(args, by_line, "the whole differs from its lines");
        }
        Err(error) => {
            let line = text
                .lines()
                .nth(error.line().wrapping_sub(1))
                .unwrap_or_else(|| panic!("{error}: the text has no such line"));
            assert!(
                parse_flagfile(line).is_err(),
                "{error}: that line alone is fine"
            );
        }
    }
});
