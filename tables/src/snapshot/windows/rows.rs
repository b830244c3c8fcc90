//! The rows of Windows' snapshot tables, declared here, outside the Windows-only modules, so that
//! their columns are compiled and checked against osquery's Windows specs on every host
//! (`specs-windows.tsv`, from `cargo xtask osquery-specs`).
#![cfg_attr(not(windows), allow(dead_code))]

use crate::row::table_row;

table_row! {
    pub(crate) struct ProcessRow {
        pid: BigInt,
        name: Text,
        path: Text,
        cmdline: Text,
        state: Text,
        cwd: Text,
        root: Text,
        uid: BigInt,
        gid: BigInt,
        euid: BigInt,
        egid: BigInt,
        suid: BigInt,
        sgid: BigInt,
        on_disk: Integer,
        wired_size: BigInt,
        resident_size: BigInt,
        total_size: BigInt,
        user_time: BigInt,
        system_time: BigInt,
        disk_bytes_read: BigInt,
        disk_bytes_written: BigInt,
        start_time: BigInt,
        parent: BigInt,
        pgroup: BigInt,
        threads: Integer,
        nice: Integer,
        elevated_token: Integer,
        secure_process: Integer,
        protection_type: Text,
        virtual_process: Integer,
        elapsed_time: BigInt,
        handle_count: BigInt,
        percent_processor_time: BigInt,
    }
}

table_row! {
    pub(crate) struct UserRow {
        uid: BigInt,
        gid: BigInt,
        uid_signed: BigInt,
        gid_signed: BigInt,
        username: Text,
        description: Text,
        directory: Text,
        shell: Text,
        uuid: Text,
        r#type: Text,
    }
}

table_row! {
    pub(crate) struct OsVersionRow {
        name: Text,
        version: Text,
        major: Integer,
        minor: Integer,
        patch: Integer,
        build: Text,
        platform: Text,
        platform_like: Text,
        codename: Text,
        arch: Text,
        install_date: BigInt,
        revision: Integer,
    }
}

table_row! {
    pub(crate) struct SystemInfoRow {
        hostname: Text,
        uuid: Text,
        cpu_type: Text,
        cpu_subtype: Text,
        cpu_brand: Text,
        cpu_physical_cores: Integer,
        cpu_logical_cores: Integer,
        cpu_sockets: Integer,
        cpu_microcode: Text,
        physical_memory: BigInt,
        hardware_vendor: Text,
        hardware_model: Text,
        hardware_version: Text,
        hardware_serial: Text,
        board_vendor: Text,
        board_model: Text,
        board_version: Text,
        board_serial: Text,
        computer_name: Text,
        local_hostname: Text,
        emulated_cpu_type: Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Column;

    /// osquery's Windows columns of `table`: (name, type, hidden), in the spec's order.
    fn spec(table: &str) -> Vec<(String, String, bool)> {
        include_str!("../../../tests/osquery_integration/specs-windows.tsv")
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| line.split('\t').collect::<Vec<_>>())
            .filter(|fields| fields.first() == Some(&table))
            .map(|fields| {
                let ty = match fields[2] {
                    "UNSIGNED_BIGINT" => "BIGINT",
                    other => other,
                };
                (fields[1].to_owned(), ty.to_owned(), fields[3] == "hidden")
            })
            .collect()
    }

    fn declared(columns: &[Column]) -> Vec<(String, String, bool)> {
        columns
            .iter()
            .map(|c| (c.name.to_owned(), c.ty.sql().to_owned(), c.hidden))
            .collect()
    }

    #[test]
    fn windows_tables_have_osquerys_windows_columns() {
        for (table, columns) in [
            ("processes", ProcessRow::COLUMNS),
            ("users", UserRow::COLUMNS),
            ("os_version", OsVersionRow::COLUMNS),
            ("system_info", SystemInfoRow::COLUMNS),
        ] {
            let wanted = spec(table);
            assert!(!wanted.is_empty(), "{table}: not in specs-windows.tsv");
            assert_eq!(declared(columns), wanted, "{table}");
        }
    }
}
