//! Packing Python code into resources (work in progress).

pub mod marshal;
