//! The kernel struct offsets the probes need, looked up in the running kernel's BTF.

use vigil_ebpf_common::{KernelOffsets, SocketOffsets};

use super::btf::{Btf, BtfError};

/// Resolves every offset in [`KernelOffsets`]; any miss is an error naming the member, so a
/// kernel whose layout we do not understand is reported instead of read at a wrong place.
pub fn resolve(btf: &Btf) -> Result<KernelOffsets, BtfError> {
    let at = |strukt: &str, member: &str| btf.member_offset(strukt, member);
    Ok(KernelOffsets {
        valid: 1,
        task_tgid: at("task_struct", "tgid")?,
        task_real_parent: at("task_struct", "real_parent")?,
        task_cred: at("task_struct", "cred")?,
        task_mm: at("task_struct", "mm")?,
        task_fs: at("task_struct", "fs")?,
        task_exit_code: at("task_struct", "exit_code")?,
        cred_euid: at("cred", "euid")?,
        cred_egid: at("cred", "egid")?,
        mm_arg_start: at("mm_struct", "arg_start")?,
        mm_arg_end: at("mm_struct", "arg_end")?,
        mm_exe_file: at("mm_struct", "exe_file")?,
        file_f_path: at("file", "f_path")?,
        fs_pwd: at("fs_struct", "pwd")?,
        path_mnt: at("path", "mnt")?,
        path_dentry: at("path", "dentry")?,
        dentry_parent: at("dentry", "d_parent")?,
        dentry_name: at("dentry", "d_name")?,
        qstr_len: at("qstr", "len")?,
        qstr_name: at("qstr", "name")?,
        mount_mnt: at("mount", "mnt")?,
        mount_parent: at("mount", "mnt_parent")?,
        mount_mountpoint: at("mount", "mnt_mountpoint")?,
        vfsmount_root: at("vfsmount", "mnt_root")?,
        task_files: at("task_struct", "files")?,
        files_fdt: at("files_struct", "fdt")?,
        fdtable_fd: at("fdtable", "fd")?,
        fdtable_max_fds: at("fdtable", "max_fds")?,
        file_private_data: at("file", "private_data")?,
        file_f_inode: at("file", "f_inode")?,
        inode_i_ino: at("inode", "i_ino")?,
        inode_i_sb: at("inode", "i_sb")?,
        super_s_dev: at("super_block", "s_dev")?,
        dentry_d_inode: at("dentry", "d_inode")?,
        dentry_d_sb: at("dentry", "d_sb")?,
    })
}

/// Resolves [`SocketOffsets`]; separate from [`resolve`] so a kernel without IPv6 loses only
/// socket details.
pub fn resolve_socket(btf: &Btf) -> Result<SocketOffsets, BtfError> {
    let at = |strukt: &str, member: &str| btf.member_offset(strukt, member);
    Ok(SocketOffsets {
        valid: 1,
        socket_type: at("socket", "type")?,
        socket_sk: at("socket", "sk")?,
        sock_common: at("sock", "__sk_common")?,
        sock_protocol: at("sock", "sk_protocol")?,
        skc_family: at("sock_common", "skc_family")?,
        skc_daddr: at("sock_common", "skc_daddr")?,
        skc_rcv_saddr: at("sock_common", "skc_rcv_saddr")?,
        skc_dport: at("sock_common", "skc_dport")?,
        skc_num: at("sock_common", "skc_num")?,
        skc_v6_daddr: at("sock_common", "skc_v6_daddr")?,
        skc_v6_rcv_saddr: at("sock_common", "skc_v6_rcv_saddr")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_every_offset_on_the_running_kernel() {
        let btf = Btf::from_sys_fs()
            .expect("/sys/kernel/btf/vmlinux is readable")
            .expect("kernel BTF parses");
        let offsets = resolve(&btf).expect("every member vigil reads exists");
        assert_eq!(offsets.valid, 1);
        // `struct path { struct vfsmount *mnt; struct dentry *dentry; }` on 64-bit kernels.
        assert_eq!(offsets.path_mnt, 0);
        assert_eq!(offsets.path_dentry, 8);
        assert!(offsets.mm_arg_end > offsets.mm_arg_start);
        let net = resolve_socket(&btf).expect("socket members exist");
        // `skc_daddr` then `skc_rcv_saddr`, both in the address pair at the start of sock_common.
        assert_eq!(net.skc_rcv_saddr, net.skc_daddr + 4);
        assert_eq!(net.sock_common, 0);
    }
}
