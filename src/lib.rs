//! pyembed
#![allow(missing_docs)]
mod allocator;
pub mod config;
mod error;
mod interpreter;
pub mod resources;

pub use config::*;
pub use error::{InitPhase, NewInterpreterError};
pub use interpreter::MainPythonInterpreter;
