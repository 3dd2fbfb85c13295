//! Export CPython's symbols so C extension modules loaded at run time (e.g.
//! `_ctypes` from lib-dynload) resolve `Py*` against the embedded CPython.
//!
//! Also route CPython's `PyThread_exit_thread` to pyembed's replacement, which
//! parks daemon threads at finalisation instead of unwinding them through
//! Rust frames (see pyembed's crate docs, "Linking a binary").
fn main() {
    println!("cargo::rustc-link-arg-bins=-Wl,--export-dynamic-symbol=Py*");
    println!("cargo::rustc-link-arg-bins=-Wl,--export-dynamic-symbol=_Py*");
    println!("cargo::rustc-link-arg-bins=-Wl,--wrap=PyThread_exit_thread");
}
