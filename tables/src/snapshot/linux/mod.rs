//! Snapshot tables that read Linux's own interfaces: `/proc`, `/sys` (the firmware's ACPI and
//! SMBIOS tables, PCI devices), `/etc`'s user database, utmp, `getifaddrs` with Linux's layout,
//! the `cpuid` instruction. Other platforms have none of these tables yet.

mod accounts;
pub mod acpi_tables;
pub mod apt_sources;
pub mod arp_cache;
pub mod authorized_keys;
mod block;
pub mod block_devices;
mod bounded;
pub mod certificates;
pub mod chrome_extensions;
pub mod cpu_time;
pub mod cpuid;
pub mod crontab;
pub mod deb_packages;
pub mod disk_encryption;
pub mod dns_resolvers;
pub mod docker_containers;
pub mod etc_hosts;
pub mod firefox_addons;
mod firmware;
pub mod groups;
pub mod interface_addresses;
pub mod interface_details;
pub mod iptables;
pub mod kernel_info;
pub mod kernel_modules;
pub mod last;
pub mod listening_ports;
pub mod load_average;
pub mod logged_in_users;
pub mod memory_info;
pub mod mounts;
mod namespace;
pub mod npm_packages;
pub mod opera_extensions;
pub mod os_version;
pub mod pci_devices;
mod pids;
pub mod portage_packages;
pub mod process_envs;
pub mod process_memory_map;
pub mod process_open_files;
pub mod process_open_sockets;
pub mod processes;
pub mod python_packages;
pub mod routes;
pub mod rpm_packages;
pub mod shell_history;
pub mod smbios_tables;
pub mod startup_items;
pub mod sudoers;
pub mod suid_bin;
pub mod system_controls;
pub mod system_info;
mod systemd;
pub mod systemd_units;
pub mod uptime;
pub mod usb_devices;
pub mod user_groups;
pub mod users;
pub mod yum_sources;

use std::sync::Arc;

use crate::table::Table;

/// This module's tables.
pub fn tables() -> Vec<Arc<dyn Table>> {
    vec![
        Arc::new(acpi_tables::AcpiTables),
        Arc::new(apt_sources::AptSources),
        Arc::new(arp_cache::ArpCache),
        Arc::new(authorized_keys::AuthorizedKeys),
        Arc::new(block_devices::BlockDevices),
        Arc::new(certificates::Certificates),
        Arc::new(chrome_extensions::ChromeExtensions),
        Arc::new(cpu_time::CpuTime),
        Arc::new(cpuid::Cpuid),
        Arc::new(crontab::Crontab),
        Arc::new(deb_packages::DebPackages),
        Arc::new(disk_encryption::DiskEncryption),
        Arc::new(dns_resolvers::DnsResolvers),
        Arc::new(docker_containers::DockerContainers),
        Arc::new(etc_hosts::EtcHosts),
        Arc::new(firefox_addons::FirefoxAddons),
        Arc::new(groups::Groups),
        Arc::new(interface_addresses::InterfaceAddresses),
        Arc::new(interface_details::InterfaceDetails),
        Arc::new(iptables::Iptables),
        Arc::new(kernel_info::KernelInfo),
        Arc::new(kernel_modules::KernelModules),
        Arc::new(last::Last),
        Arc::new(listening_ports::ListeningPorts),
        Arc::new(load_average::LoadAverage),
        Arc::new(logged_in_users::LoggedInUsers),
        Arc::new(memory_info::MemoryInfo),
        Arc::new(mounts::Mounts),
        Arc::new(npm_packages::NpmPackages),
        Arc::new(opera_extensions::OperaExtensions),
        Arc::new(os_version::OsVersion),
        Arc::new(pci_devices::PciDevices),
        Arc::new(portage_packages::PortagePackages),
        Arc::new(process_envs::ProcessEnvs),
        Arc::new(process_memory_map::ProcessMemoryMap),
        Arc::new(process_open_files::ProcessOpenFiles),
        Arc::new(process_open_sockets::ProcessOpenSockets),
        Arc::new(processes::Processes),
        Arc::new(python_packages::PythonPackages),
        Arc::new(routes::Routes),
        Arc::new(rpm_packages::RpmPackages),
        Arc::new(shell_history::ShellHistory),
        Arc::new(smbios_tables::SmbiosTables),
        Arc::new(startup_items::StartupItems),
        Arc::new(sudoers::Sudoers),
        Arc::new(suid_bin::SuidBin),
        Arc::new(system_controls::SystemControls),
        Arc::new(system_info::SystemInfo),
        Arc::new(systemd_units::SystemdUnits),
        Arc::new(uptime::Uptime),
        Arc::new(usb_devices::UsbDevices),
        Arc::new(user_groups::UserGroups),
        Arc::new(users::Users),
        Arc::new(yum_sources::YumSources),
    ]
}
