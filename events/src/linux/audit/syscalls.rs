//! The syscalls vigil's audit rule asks for, by architecture: their numbers in SYSCALL records
//! (`arch=`, `syscall=`) and in the rule's syscall mask.

use crate::model::Syscall;

/// `AUDIT_ARCH_X86_64`, `AUDIT_ARCH_AARCH64`: what `arch=` holds for 64-bit calls.
pub const ARCH_X86_64: u32 = 0xc000_003e;
pub const ARCH_AARCH64: u32 = 0xc000_00b7;

/// The architecture of this build's syscalls, as audit names it.
#[cfg(target_arch = "x86_64")]
pub const NATIVE_ARCH: u32 = ARCH_X86_64;
#[cfg(target_arch = "aarch64")]
pub const NATIVE_ARCH: u32 = ARCH_AARCH64;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const NATIVE_ARCH: u32 = 0;

/// A syscall vigil's tables report, by the family of rows it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditSyscall {
    Exec(Syscall),
    /// fork and vfork: the child's pid is the return value.
    Fork(Syscall),
    /// clone: also threads, told apart by its flags (`a0`). clone3 is not audited: its flags are
    /// in a `struct clone_args` the record does not show (its `a0` is the struct's address), so
    /// a thread could not be told from a process.
    Clone(Syscall),
    Socket(Syscall),
}

impl AuditSyscall {
    pub fn syscall(self) -> Syscall {
        match self {
            AuditSyscall::Exec(s)
            | AuditSyscall::Fork(s)
            | AuditSyscall::Clone(s)
            | AuditSyscall::Socket(s) => s,
        }
    }
}

/// (number, syscall) for each architecture.
const X86_64: &[(u32, AuditSyscall)] = &[
    (59, AuditSyscall::Exec(Syscall::Execve)),
    (322, AuditSyscall::Exec(Syscall::Execveat)),
    (57, AuditSyscall::Fork(Syscall::Fork)),
    (58, AuditSyscall::Fork(Syscall::Vfork)),
    (56, AuditSyscall::Clone(Syscall::Clone)),
    (49, AuditSyscall::Socket(Syscall::Bind)),
    (42, AuditSyscall::Socket(Syscall::Connect)),
    (43, AuditSyscall::Socket(Syscall::Accept)),
    (288, AuditSyscall::Socket(Syscall::Accept4)),
];

const AARCH64: &[(u32, AuditSyscall)] = &[
    (221, AuditSyscall::Exec(Syscall::Execve)),
    (281, AuditSyscall::Exec(Syscall::Execveat)),
    (220, AuditSyscall::Clone(Syscall::Clone)),
    (200, AuditSyscall::Socket(Syscall::Bind)),
    (203, AuditSyscall::Socket(Syscall::Connect)),
    (202, AuditSyscall::Socket(Syscall::Accept)),
    (242, AuditSyscall::Socket(Syscall::Accept4)),
];

fn table(arch: u32) -> &'static [(u32, AuditSyscall)] {
    match arch {
        ARCH_X86_64 => X86_64,
        ARCH_AARCH64 => AARCH64,
        _ => &[],
    }
}

/// The syscall of a SYSCALL record's `arch=` and `syscall=`, if vigil reports it.
pub fn of(arch: Option<u64>, number: Option<i64>) -> Option<AuditSyscall> {
    let arch = u32::try_from(arch?).ok()?;
    let number = u32::try_from(number?).ok()?;
    table(arch)
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, call)| *call)
}

/// The numbers on this architecture of the syscalls `wanted` accepts.
pub fn native_numbers(wanted: impl Fn(AuditSyscall) -> bool) -> Vec<u32> {
    table(NATIVE_ARCH)
        .iter()
        .filter(|(_, call)| wanted(*call))
        .map(|(n, _)| *n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone3_is_neither_asked_for_nor_read() {
        for arch in [ARCH_X86_64, ARCH_AARCH64] {
            assert_eq!(of(Some(u64::from(arch)), Some(435)), None);
        }
        assert!(!native_numbers(|_| true).contains(&435));
        assert_eq!(
            of(Some(u64::from(ARCH_X86_64)), Some(56)),
            Some(AuditSyscall::Clone(Syscall::Clone))
        );
    }
}
