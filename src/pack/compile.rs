//! Compiling Python source to bytecode with the CPython this crate links.
//!
//! The packer never shells out to a `python3` that may be another build: it
//! compiles in-process, with the very interpreter a packed binary will run,
//! so the bytecode's magic number always matches. Source is compiled straight
//! to a code object at each requested optimisation level; `marshal.dumps`
//! output is then made deterministic by [`super::marshal::normalize`].
//!
//! Compiling from source each time is faster than parsing once to an `ast`
//! tree and compiling that: building the tree's Python objects (and turning
//! them back into CPython's internal AST) cost more than the parse they save.
//! On the standard library, level 0 alone took 2.3 times as long through the
//! tree, and levels 0, 1 and 2 together 1.25 times; the bytes are identical
//! (see `docs/performance.md`).
//!
//! CPython 3.11 compiles under the GIL, so threads do not help. A
//! [`WorkerPool`] runs several processes of the current executable instead
//! (each with its own interpreter), started with [`WORKER_ARG`] as their first
//! argument; the executable's `main` hands such a process to [`worker_main`].
//! Requests and replies travel over the workers' stdin/stdout as
//! length-prefixed frames.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::BytecodeOptimizationLevel;

/// First argument that turns the executable into a compile worker.
pub const WORKER_ARG: &str = "__pyembed-compile-worker";

/// One module to compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileRequest {
    /// The module's dotted name (for error messages).
    pub name: String,
    /// The stable virtual path stored as `co_filename`, e.g. `json/decoder.py`.
    pub filename: String,
    /// The source bytes (any PEP 263 encoding declaration is honoured).
    pub source: Vec<u8>,
    /// Optimisation levels to produce, in this order.
    pub levels: Vec<BytecodeOptimizationLevel>,
}

/// Marshalled, normalised bytecode, one entry per requested level.
pub type Compiled = Vec<Vec<u8>>;

/// Why a module did not compile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The source has a syntax (or encoding) error.
    #[error(
        "{filename}{}: {kind}: {message}{}",
        location(.line, .offset),
        encoding_hint(.message)
    )]
    Syntax {
        /// The module's virtual path.
        filename: String,
        /// 1-based line number (0 when unknown).
        line: u32,
        /// 1-based column (0 when unknown).
        offset: u32,
        /// The exception type, e.g. `SyntaxError`, `IndentationError`.
        kind: String,
        /// CPython's message.
        message: String,
    },
    /// CPython raised something else while compiling.
    #[error("{filename}: {message}")]
    Python {
        /// The module's virtual path.
        filename: String,
        /// The exception, as text.
        message: String,
    },
    /// The marshalled output could not be normalised.
    #[error("{filename}: {message}")]
    Marshal {
        /// The module's virtual path.
        filename: String,
        /// What went wrong.
        message: String,
    },
    /// A worker process failed.
    #[error("compile worker: {0}")]
    Worker(String),
}

const COMPILER_PY: &std::ffi::CStr = c"
import marshal

def compile_levels(source, filename, levels):
    return [marshal.dumps(compile(source, filename, 'exec', dont_inherit=True, optimize=level))
            for level in levels]
";

/// Compiles modules in the current process. Needs an initialised interpreter.
pub struct Compiler {
    compile_levels: Py<PyAny>,
    python_version: super::marshal::PythonVersion,
}

impl Compiler {
    /// Prepare the compiler function in the running interpreter.
    pub fn new(py: Python<'_>) -> PyResult<Self> {
        let module = pyo3::types::PyModule::from_code(
            py,
            COMPILER_PY,
            c"<pyembed compiler>",
            c"_pyembed_compiler",
        )?;
        py.import("sys")?
            .getattr("modules")?
            .del_item("_pyembed_compiler")?;
        intern_shared_strings(py)?;
        let version = py.version_info();
        Ok(Compiler {
            compile_levels: module.getattr("compile_levels")?.unbind(),
            python_version: super::marshal::PythonVersion::new(version.major, version.minor),
        })
    }

    /// Compile `request`, returning normalised marshal data per level.
    pub fn compile(
        &self,
        py: Python<'_>,
        request: &CompileRequest,
    ) -> Result<Compiled, CompileError> {
        let levels: Vec<i32> = request.levels.iter().map(|l| *l as i32).collect();
        let result = self.compile_levels.call1(
            py,
            (
                PyBytes::new(py, &request.source),
                request.filename.as_str(),
                levels,
            ),
        );
        let outputs: Vec<Vec<u8>> = match result.and_then(|r| r.extract(py)) {
            Ok(outputs) => outputs,
            Err(err) => return Err(python_compile_error(py, &request.filename, err)),
        };
        outputs
            .iter()
            .map(|data| {
                super::marshal::normalize(data, self.python_version).map_err(|e| {
                    CompileError::Marshal {
                        filename: request.filename.clone(),
                        message: e.to_string(),
                    }
                })
            })
            .collect()
    }
}

/// Interns the strings CPython shares process-wide: the 256 one-character
/// Latin-1 strings and the empty string.
///
/// `marshal` writes a string with an interned type code (`t`, `A`, `Z`)
/// exactly when the object is interned at dump time, and
/// [`marshal::normalize`](super::marshal::normalize) keeps type codes as
/// they are. Most strings a compile produces are new objects, interned or
/// not by rules that depend only on the module itself. The exceptions are
/// these: every `"é"` in the process is one object, and interning an
/// identifier interns its object. So once a worker had compiled a module
/// with `é = 1` in it, every later `"é"` constant it compiled marshalled as
/// interned; before that, as not. Which modules a worker compiles first
/// depends on `-j` and on scheduling, so a module's bytes did too (the
/// `app/alpha.py` and `app/omega.py` pair in `tests/pack_reproducible.rs`
/// showed it). With all of them interned before the first compile, no
/// compile can change their state.
///
/// Nothing else changes: these strings are the same object whether interned
/// or not, and `marshal.loads` returns that object either way.
fn intern_shared_strings(py: Python<'_>) -> PyResult<()> {
    // `chr` returns CPython's cached object for code points below 256.
    let chr = py.import("builtins")?.getattr("chr")?;
    let intern = py.import("sys")?.getattr("intern")?;
    for code_point in 0..256u32 {
        intern.call1((chr.call1((code_point,))?,))?;
    }
    intern.call1(("",))?;
    Ok(())
}

fn python_compile_error(py: Python<'_>, filename: &str, err: PyErr) -> CompileError {
    if err.is_instance_of::<pyo3::exceptions::PySyntaxError>(py) {
        let value = err.value(py);
        let get_u32 = |name: &str| {
            value
                .getattr(name)
                .ok()
                .and_then(|v| v.extract::<Option<u32>>().ok())
                .flatten()
                .unwrap_or(0)
        };
        let message = value
            .getattr("msg")
            .ok()
            .and_then(|m| m.extract::<String>().ok())
            .unwrap_or_else(|| err.to_string());
        let kind = value
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "SyntaxError".into());
        return CompileError::Syntax {
            filename: filename.to_string(),
            line: get_u32("lineno"),
            offset: get_u32("offset"),
            kind,
            message,
        };
    }
    CompileError::Python {
        filename: filename.to_string(),
        message: err.to_string(),
    }
}

/// `:line:column`, `:line`, or nothing, for a [`CompileError::Syntax`].
///
/// CPython gives no line for a bad PEP 263 declaration (`unknown encoding:
/// bogus`, `encoding problem: utf-8 with BOM`); printing that as `:0:0`
/// would send an editor to a line that does not exist.
fn location(line: &u32, offset: &u32) -> String {
    match (*line, *offset) {
        (0, _) => String::new(),
        (line, 0) => format!(":{line}"),
        (line, offset) => format!(":{line}:{offset}"),
    }
}

/// A `hint:` for the two ways source text can fail to decode, recognised by
/// CPython's wording (which has been stable since 3.0; anything else gets
/// no hint).
fn encoding_hint(message: &str) -> &'static str {
    if message.starts_with("unknown encoding") || message.starts_with("encoding problem") {
        "; hint: a PEP 263 `coding:` comment on line 1 or 2 must name a codec \
         Python knows, such as utf-8 or latin-1"
    } else if message.contains("codec can't decode") {
        "; hint: the file is not in the encoding it declares (UTF-8 unless a \
         PEP 263 `coding:` comment on line 1 or 2 names another); re-save it \
         or fix the declaration"
    } else {
        ""
    }
}

// ---- wire format -------------------------------------------------------------
//
// request:  u32 name_len, name, u32 filename_len, filename, u8 level_count,
//           levels (u8 each), u32 source_len, source
// reply:    u8 tag; tag 0 = ok: u8 count, then per level u32 len + data;
//           tag 1 = error: u32 len + UTF-8 JSON-free text fields separated
//           by NUL: kind, filename, line, offset, message, variant

fn write_bytes(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len =
        u32::try_from(bytes.len()).map_err(|_| io::Error::other("frame larger than 4 GiB"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

/// Read a length-prefixed frame, refusing lengths above `limit`.
fn read_bytes(input: &mut impl Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds {limit}"),
        ));
    }
    let mut buf = vec![0u8; len];
    input.read_exact(&mut buf)?;
    Ok(buf)
}

const MAX_FRAME: usize = 1 << 30;

fn read_string(input: &mut impl Read) -> io::Result<String> {
    String::from_utf8(read_bytes(input, MAX_FRAME)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn write_request(out: &mut impl Write, request: &CompileRequest) -> io::Result<()> {
    write_bytes(out, request.name.as_bytes())?;
    write_bytes(out, request.filename.as_bytes())?;
    out.write_all(&[request.levels.len() as u8])?;
    for level in &request.levels {
        out.write_all(&[*level as u8])?;
    }
    write_bytes(out, &request.source)
}

fn read_request(input: &mut impl Read) -> io::Result<CompileRequest> {
    let name = read_string(input)?;
    let filename = read_string(input)?;
    let mut count = [0u8; 1];
    input.read_exact(&mut count)?;
    let mut levels = Vec::with_capacity(count[0] as usize);
    for _ in 0..count[0] {
        let mut level = [0u8; 1];
        input.read_exact(&mut level)?;
        levels.push(
            BytecodeOptimizationLevel::try_from(i32::from(level[0]))
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
        );
    }
    let source = read_bytes(input, MAX_FRAME)?;
    Ok(CompileRequest {
        name,
        filename,
        source,
        levels,
    })
}

fn write_reply(out: &mut impl Write, reply: &Result<Compiled, CompileError>) -> io::Result<()> {
    match reply {
        Ok(outputs) => {
            out.write_all(&[0, outputs.len() as u8])?;
            for data in outputs {
                write_bytes(out, data)?;
            }
        }
        Err(err) => {
            out.write_all(&[1])?;
            let fields: Vec<String> = match err {
                CompileError::Syntax {
                    filename,
                    line,
                    offset,
                    kind,
                    message,
                } => {
                    vec![
                        "syntax".into(),
                        filename.clone(),
                        line.to_string(),
                        offset.to_string(),
                        kind.clone(),
                        message.clone(),
                    ]
                }
                CompileError::Python { filename, message } => {
                    vec!["python".into(), filename.clone(), message.clone()]
                }
                CompileError::Marshal { filename, message } => {
                    vec!["marshal".into(), filename.clone(), message.clone()]
                }
                CompileError::Worker(message) => vec!["worker".into(), message.clone()],
            };
            out.write_all(&[fields.len() as u8])?;
            for field in fields {
                write_bytes(out, field.as_bytes())?;
            }
        }
    }
    out.flush()
}

fn read_reply(input: &mut impl Read) -> io::Result<Result<Compiled, CompileError>> {
    let mut head = [0u8; 2];
    input.read_exact(&mut head)?;
    let count = head[1] as usize;
    if head[0] == 0 {
        let mut outputs = Vec::with_capacity(count);
        for _ in 0..count {
            outputs.push(read_bytes(input, MAX_FRAME)?);
        }
        return Ok(Ok(outputs));
    }
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        fields.push(read_string(input)?);
    }
    let invalid = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "malformed error reply from compile worker",
        )
    };
    let field = |i: usize| fields.get(i).cloned().ok_or_else(invalid);
    let err = match fields.first().map(String::as_str) {
        Some("syntax") => CompileError::Syntax {
            filename: field(1)?,
            line: field(2)?.parse().map_err(|_| invalid())?,
            offset: field(3)?.parse().map_err(|_| invalid())?,
            kind: field(4)?,
            message: field(5)?,
        },
        Some("python") => CompileError::Python {
            filename: field(1)?,
            message: field(2)?,
        },
        Some("marshal") => CompileError::Marshal {
            filename: field(1)?,
            message: field(2)?,
        },
        Some("worker") => CompileError::Worker(field(1)?),
        _ => return Err(invalid()),
    };
    Ok(Err(err))
}

/// The body of a compile worker process: answer requests on stdin until EOF.
///
/// `py` must belong to an interpreter initialised by the caller (isolated,
/// without `site`).
pub fn worker_main(py: Python<'_>) -> io::Result<()> {
    let compiler = Compiler::new(py).map_err(|e| io::Error::other(e.to_string()))?;
    let mut input = BufReader::new(io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    loop {
        let request = match read_request(&mut input) {
            Ok(request) => request,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        };
        let reply = compiler.compile(py, &request);
        write_reply(&mut output, &reply)?;
    }
}

struct Worker {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

/// Worker processes compiling requests in parallel.
pub struct WorkerPool {
    workers: Vec<Worker>,
}

impl WorkerPool {
    /// Start `count` workers running `exe WORKER_ARG`.
    pub fn start(exe: &Path, count: usize) -> io::Result<Self> {
        let mut workers = Vec::with_capacity(count);
        for _ in 0..count.max(1) {
            let mut child = Command::new(exe)
                .arg(WORKER_ARG)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .env_remove("PYTHONHASHSEED")
                .spawn()?;
            let stdin = BufWriter::new(
                child
                    .stdin
                    .take()
                    .ok_or_else(|| io::Error::other("no stdin"))?,
            );
            let stdout = BufReader::new(
                child
                    .stdout
                    .take()
                    .ok_or_else(|| io::Error::other("no stdout"))?,
            );
            workers.push(Worker {
                child,
                stdin,
                stdout,
            });
        }
        Ok(WorkerPool { workers })
    }

    /// Compile every request; results come back in request order.
    ///
    /// Requests are handed out one at a time, largest source first, to
    /// whichever worker has room: each worker has at most `IN_FLIGHT` (2)
    /// requests sent and not yet answered, so it always has the next one
    /// queued while it compiles, and no worker is left with a long tail
    /// while the others idle (a static split by source size left one of two
    /// workers 27 % busier than the other on the standard library). Per
    /// worker, a writer thread sends and a reader thread collects replies, so
    /// neither side blocks on a full pipe.
    pub fn compile_all(
        mut self,
        requests: &[CompileRequest],
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<Result<Compiled, CompileError>>, CompileError> {
        let order = dispatch_order(requests);
        let next = AtomicUsize::new(0);
        let replies = std::thread::scope(|scope| -> Result<Vec<_>, CompileError> {
            let mut handles = Vec::new();
            for worker in &mut self.workers {
                let Worker { stdin, stdout, .. } = worker;
                let (order, next) = (&order, &next);
                // The writer tells the reader which request each reply
                // answers; the reader returns a credit per reply.
                let (sent_tx, sent_rx) = mpsc::channel::<usize>();
                let (credit_tx, credit_rx) = mpsc::channel::<()>();
                let writer = scope.spawn(move || -> io::Result<()> {
                    let mut credits = IN_FLIGHT;
                    loop {
                        if credits == 0 {
                            if credit_rx.recv().is_err() {
                                return Ok(()); // the reader stopped
                            }
                            credits += 1;
                        }
                        let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            return Ok(());
                        };
                        if sent_tx.send(index).is_err() {
                            return Ok(());
                        }
                        write_request(stdin, &requests[index])?;
                        stdin.flush()?;
                        credits -= 1;
                    }
                });
                handles.push(scope.spawn(move || -> Result<Vec<_>, CompileError> {
                    let mut replies = Vec::new();
                    while let Ok(index) = sent_rx.recv() {
                        let reply = read_reply(stdout).map_err(|e| {
                            CompileError::Worker(if e.kind() == io::ErrorKind::UnexpectedEof {
                                // It printed its own reason to our stderr.
                                "the worker stopped without answering (its error, if it \
                                 printed one, is above)"
                                    .into()
                            } else {
                                e.to_string()
                            })
                        })?;
                        replies.push((index, reply));
                        progress(1);
                        let _ = credit_tx.send(());
                    }
                    writer
                        .join()
                        .map_err(|_| CompileError::Worker("writer thread panicked".into()))?
                        .map_err(|e| CompileError::Worker(e.to_string()))?;
                    Ok(replies)
                }));
            }
            let mut all = Vec::with_capacity(requests.len());
            for handle in handles {
                all.extend(
                    handle
                        .join()
                        .map_err(|_| CompileError::Worker("reader thread panicked".into()))??,
                );
            }
            Ok(all)
        })?;
        let mut results: Vec<Option<Result<Compiled, CompileError>>> =
            (0..requests.len()).map(|_| None).collect();
        for (index, reply) in replies {
            results[index] = Some(reply);
        }
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| CompileError::Worker("a request was not answered".into())))
            .collect()
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for worker in self.workers.drain(..) {
            let Worker {
                mut child,
                stdin,
                stdout,
            } = worker;
            drop(stdin); // EOF: the worker exits its loop
            drop(stdout);
            let _ = child.wait();
        }
    }
}

/// Requests a worker may hold at once: one compiling, one queued behind it.
const IN_FLIGHT: usize = 2;

/// Request indices in the order they are handed out: largest source first
/// (ties in request order), so the last requests to finish are small ones.
fn dispatch_order(requests: &[CompileRequest]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(requests[i].source.len()));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::packer::Backend as _;

    #[test]
    fn a_worker_that_exits_without_answering_is_named() {
        // `true` ignores the worker argument and exits at once, as a worker
        // whose interpreter cannot start does.
        let mut backend = WorkerBackend {
            exe: "true".into(),
            jobs: 1,
        };
        let error = backend
            .compile_all(&[request("m", 10)], &|_| {})
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "compile worker: the worker stopped without answering (its error, if it printed \
             one, is above)"
        );
    }

    fn request(name: &str, size: usize) -> CompileRequest {
        CompileRequest {
            name: name.into(),
            filename: format!("{name}.py"),
            source: vec![b'#'; size],
            levels: vec![
                BytecodeOptimizationLevel::Zero,
                BytecodeOptimizationLevel::Two,
            ],
        }
    }

    #[test]
    fn frames_round_trip() {
        let req = request("a.b", 10);
        let mut buf = Vec::new();
        write_request(&mut buf, &req).unwrap();
        assert_eq!(read_request(&mut buf.as_slice()).unwrap(), req);

        for reply in [
            Ok(vec![b"abc".to_vec(), vec![]]),
            Err(CompileError::Syntax {
                filename: "x.py".into(),
                line: 3,
                offset: 7,
                kind: "IndentationError".into(),
                message: "unexpected indent".into(),
            }),
            Err(CompileError::Python {
                filename: "y.py".into(),
                message: "ValueError: x".into(),
            }),
        ] {
            let mut buf = Vec::new();
            write_reply(&mut buf, &reply).unwrap();
            assert_eq!(read_reply(&mut buf.as_slice()).unwrap(), reply);
        }
    }

    #[test]
    fn syntax_errors_show_only_the_location_cpython_knows() {
        let error = |line, offset, message: &str| CompileError::Syntax {
            filename: "pkg/m.py".into(),
            line,
            offset,
            kind: "SyntaxError".into(),
            message: message.into(),
        };
        assert_eq!(
            error(3, 7, "invalid syntax").to_string(),
            "pkg/m.py:3:7: SyntaxError: invalid syntax"
        );
        assert_eq!(
            error(3, 0, "invalid syntax").to_string(),
            "pkg/m.py:3: SyntaxError: invalid syntax"
        );
        let unknown = error(0, 0, "unknown encoding: bogus").to_string();
        assert!(
            unknown.starts_with("pkg/m.py: SyntaxError: unknown encoding: bogus; hint: "),
            "{unknown}"
        );
        let undecodable = error(2, 4, "(unicode error) 'utf-8' codec can't decode byte 0xe9");
        assert!(
            undecodable
                .to_string()
                .contains("; hint: the file is not in")
        );
    }

    #[test]
    fn truncated_frames_are_errors() {
        let mut buf = Vec::new();
        write_request(&mut buf, &request("m", 5)).unwrap();
        for cut in 0..buf.len() {
            assert!(read_request(&mut &buf[..cut]).is_err(), "cut at {cut}");
        }
        let huge = (u32::MAX).to_le_bytes();
        assert!(read_bytes(&mut huge.as_slice(), MAX_FRAME).is_err());
    }

    #[test]
    fn dispatch_takes_every_request_once_largest_first() {
        let requests: Vec<_> = (0..37)
            .map(|i| request(&format!("m{i}"), (i * 37) % 101))
            .collect();
        let order = dispatch_order(&requests);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..37).collect::<Vec<_>>());
        for pair in order.windows(2) {
            let (a, b) = (&requests[pair[0]], &requests[pair[1]]);
            assert!(
                a.source.len() > b.source.len()
                    || (a.source.len() == b.source.len() && pair[0] < pair[1])
            );
        }
    }
}

/// A [`Backend`](super::packer::Backend) running `jobs` worker processes of
/// `exe` (an executable whose `main` dispatches [`WORKER_ARG`] to
/// [`worker_main`], such as the `pyembed` CLI).
#[derive(Clone, Debug)]
pub struct WorkerBackend {
    /// The executable to start.
    pub exe: std::path::PathBuf,
    /// Number of worker processes.
    pub jobs: usize,
}

impl super::packer::Backend for WorkerBackend {
    fn compile_all(
        &mut self,
        requests: &[CompileRequest],
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<Result<Compiled, CompileError>>, CompileError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let jobs = self.jobs.clamp(1, requests.len());
        let pool = WorkerPool::start(&self.exe, jobs).map_err(|e| {
            CompileError::Worker(format!("cannot start {}: {e}", self.exe.display()))
        })?;
        pool.compile_all(requests, progress)
    }
}

/// A [`Backend`](super::packer::Backend) compiling on the calling thread
/// with the interpreter it is attached to.
pub struct InProcessBackend<'py> {
    py: Python<'py>,
    compiler: Compiler,
}

impl<'py> InProcessBackend<'py> {
    /// Prepare a compiler in the interpreter `py` belongs to.
    pub fn new(py: Python<'py>) -> PyResult<Self> {
        Ok(InProcessBackend {
            py,
            compiler: Compiler::new(py)?,
        })
    }
}

impl super::packer::Backend for InProcessBackend<'_> {
    fn compile_all(
        &mut self,
        requests: &[CompileRequest],
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<Result<Compiled, CompileError>>, CompileError> {
        Ok(requests
            .iter()
            .map(|request| {
                let result = self.compiler.compile(self.py, request);
                progress(1);
                result
            })
            .collect())
    }
}
