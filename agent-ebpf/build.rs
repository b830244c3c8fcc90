//! Link options for the eBPF object (bpf-linker's, passed through rustc).

fn main() {
    // bpf-linker asks LLVM to expand memcpy "in order" by default, and LLVM's BPF backend then
    // turns every memset into a call to compiler-builtins' memset, a loop storing one byte at a
    // time: zeroing a 280-byte socket record cost 1,400 instructions. Without it, LLVM writes
    // small memsets and memcpys inline with stores as wide as their alignment allows.
    println!("cargo::rustc-link-arg=--disable-expand-memcpy-in-order");
}
