//! pyembed (work in progress)
pub mod resources;
