//! Export the executable's symbols so C extension modules loaded at run time
//! (e.g. `_ctypes` from lib-dynload) resolve `Py*` against the embedded CPython.
fn main() {
    println!("cargo::rustc-link-arg-bins=-Wl,--export-dynamic");
}
