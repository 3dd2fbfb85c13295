//! Interpreter configuration: the types a downstream crate fills in, their
//! enums, and [`OxidizedPythonInterpreterConfig::resolve`].
//!
//! Nothing here touches the interpreter; [`crate::MainPythonInterpreter`] turns
//! a resolved configuration into `PyPreConfig`/`PyConfig` structures.

mod enums;
mod oxidized;
mod python;
mod resolve;
#[cfg(feature = "serialization")]
mod serde_os;

pub use enums::{
    Allocator, BytecodeOptimizationLevel, BytesWarning, CheckHashPycsMode, CoerceCLocale,
    MemoryAllocatorBackend, MultiprocessingStartMethod, PythonInterpreterProfile,
    TerminfoResolution, UnknownVariant,
};
pub use oxidized::{ExtensionModule, OxidizedPythonInterpreterConfig, PackedResourcesSource};
pub use python::PythonInterpreterConfig;
pub use resolve::{ORIGIN, ResolvedOxidizedPythonInterpreterConfig};
