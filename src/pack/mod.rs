//! Packing Python code into verified containers: scanning and classifying inputs,
//! applying the stdlib policy, compiling bytecode with the linked CPython, and
//! writing the container. `packer` is the entry point; see its module docs.

pub mod compile;
pub mod marshal;
pub mod packer;

// The input side: scanning and classifying Python inputs, the stdlib policy.
pub mod classify;
pub mod error;
pub mod filename;
pub mod inventory;
pub mod policy;
pub mod resolve;
pub mod scan;
pub mod target;
pub mod unpack;
pub mod wheel;
