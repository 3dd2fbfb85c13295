//! The configuration types through serde (feature `serialization`): a fully
//! populated `OxidizedPythonInterpreterConfig` survives TOML and JSON, enums
//! are written as their string forms, and bad documents are rejected with
//! messages that name the problem.
//!
//! Run with `cargo test --features serialization --test interpreter_serde`.
//! Nothing here starts an interpreter.
#![cfg(feature = "serialization")]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use pyembed::{
    Allocator, BytecodeOptimizationLevel, BytesWarning, CheckHashPycsMode, CoerceCLocale,
    ExtensionModule, MemoryAllocatorBackend, MultiprocessingStartMethod,
    OxidizedPythonInterpreterConfig, PackedResourcesSource, PythonInterpreterConfig,
    PythonInterpreterProfile, TerminfoResolution,
};
use serde_json::json;

/// Every serialisable field set to a value other than its default. The
/// struct literals list every field, so a new field fails to compile here
/// until it is added to the round trip.
fn populated() -> OxidizedPythonInterpreterConfig<'static> {
    OxidizedPythonInterpreterConfig {
        exe: Some("/opt/app/bin/app".into()),
        origin: Some("/opt/app".into()),
        interpreter_config: PythonInterpreterConfig {
            profile: PythonInterpreterProfile::Isolated,
            allocator: Some(Allocator::PyMallocDebug),
            configure_locale: Some(true),
            coerce_c_locale: Some(CoerceCLocale::LCCtype),
            coerce_c_locale_warn: Some(true),
            development_mode: Some(true),
            isolated: Some(false),
            legacy_windows_fs_encoding: Some(false),
            parse_argv: Some(true),
            use_environment: Some(true),
            utf8_mode: Some(true),
            argv: Some(vec!["inner".into(), "-v".into()]),
            base_exec_prefix: Some("/base-exec-prefix".into()),
            base_executable: Some("/base-executable".into()),
            base_prefix: Some("/base-prefix".into()),
            buffered_stdio: Some(false),
            bytes_warning: Some(BytesWarning::Raise),
            check_hash_pycs_mode: Some(CheckHashPycsMode::Always),
            code_debug_ranges: Some(false),
            configure_c_stdio: Some(true),
            dump_refs: Some(true),
            exec_prefix: Some("/exec-prefix".into()),
            executable: Some("/executable".into()),
            fault_handler: Some(true),
            filesystem_encoding: Some("utf-8".into()),
            filesystem_errors: Some("surrogateescape".into()),
            hash_seed: Some(4_294_967_295),
            home: Some("/home-dir".into()),
            import_time: Some(true),
            inspect: Some(true),
            install_signal_handlers: Some(false),
            int_max_str_digits: Some(640),
            interactive: Some(true),
            legacy_windows_stdio: Some(true),
            malloc_stats: Some(true),
            module_search_paths: Some(vec!["$ORIGIN/lib".into(), "/usr/lib/python3.11".into()]),
            optimization_level: Some(BytecodeOptimizationLevel::Two),
            parser_debug: Some(true),
            pathconfig_warnings: Some(false),
            platlibdir: Some("lib64".into()),
            prefix: Some("/prefix".into()),
            program_name: Some("/program-name".into()),
            pycache_prefix: Some("/pycache".into()),
            python_path_env: Some("/a:/b".into()),
            quiet: Some(true),
            run_command: Some("print('hi')".into()),
            run_filename: Some("/script.py".into()),
            run_module: Some("json.tool".into()),
            safe_path: Some(true),
            show_ref_count: Some(true),
            site_import: Some(false),
            skip_first_source_line: Some(true),
            stdio_encoding: Some("latin-1".into()),
            stdio_errors: Some("replace".into()),
            tracemalloc: Some(true),
            use_frozen_modules: Some(false),
            user_site_directory: Some(false),
            verbose: Some(true),
            warn_default_encoding: Some(true),
            warn_options: Some(vec!["error::DeprecationWarning".into()]),
            write_bytecode: Some(false),
            x_options: Some(vec!["dev".into(), "answer=42".into()]),
        },
        allocator_backend: MemoryAllocatorBackend::System,
        allocator_raw: false,
        allocator_mem: true,
        allocator_obj: true,
        allocator_pymalloc_arena: true,
        allocator_debug: true,
        set_missing_path_configuration: false,
        oxidized_importer: true,
        filesystem_importer: false,
        packed_resources: vec![
            PackedResourcesSource::MemoryMappedPath("$ORIGIN/app.pyembed".into()),
            PackedResourcesSource::MemoryMappedPath("/opt/app/extra.pyembed".into()),
        ],
        packed_resources_digests: vec!["ab".repeat(32), "cd".repeat(32)],
        extra_extension_modules: None,
        argv: Some(vec!["app".into(), "--flag".into(), "é".into()]),
        argvb: true,
        multiprocessing_auto_dispatch: false,
        multiprocessing_start_method: MultiprocessingStartMethod::ForkServer,
        sys_frozen: true,
        sys_meipass: true,
        terminfo_resolution: TerminfoResolution::Static("/etc/terminfo:/usr/share/terminfo".into()),
        tcl_library: Some("$ORIGIN/tcl8.6".into()),
        write_modules_directory_env: Some("APP_MODULES_DIR".into()),
    }
}

#[test]
fn populated_config_differs_from_the_default_in_every_serialised_field() {
    // Guard for the round trips below: a field left at its default would
    // round-trip trivially.
    let populated = serde_json::to_value(populated()).unwrap();
    let default = serde_json::to_value(OxidizedPythonInterpreterConfig::default()).unwrap();
    let differing = |a: &serde_json::Value, b: &serde_json::Value| -> Vec<String> {
        let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
        a.keys().filter(|k| a[*k] == b[*k]).cloned().collect()
    };
    assert_eq!(differing(&populated, &default), Vec::<String>::new());
    assert_eq!(
        differing(
            &populated["interpreter_config"],
            &default["interpreter_config"]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn toml_round_trip_preserves_every_field() {
    let config = populated();
    let text = toml::to_string(&config).expect("serialising to TOML");
    let back: OxidizedPythonInterpreterConfig<'static> =
        toml::from_str(&text).unwrap_or_else(|e| panic!("parsing back failed: {e}\n{text}"));
    assert_eq!(back, config, "TOML:\n{text}");
}

#[test]
fn json_round_trip_preserves_every_field() {
    let config = populated();
    let text = serde_json::to_string_pretty(&config).expect("serialising to JSON");
    let back: OxidizedPythonInterpreterConfig<'static> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing back failed: {e}\n{text}"));
    assert_eq!(back, config, "JSON:\n{text}");
}

#[test]
fn default_config_round_trips_through_toml_and_json() {
    let config = OxidizedPythonInterpreterConfig::default();
    let toml_text = toml::to_string(&config).unwrap();
    assert_eq!(
        toml::from_str::<OxidizedPythonInterpreterConfig>(&toml_text).unwrap(),
        config
    );
    let json_text = serde_json::to_string(&config).unwrap();
    assert_eq!(
        serde_json::from_str::<OxidizedPythonInterpreterConfig>(&json_text).unwrap(),
        config
    );
}

#[test]
fn enums_serialise_as_their_string_forms() {
    let value = serde_json::to_value(populated()).unwrap();
    let ic = &value["interpreter_config"];
    assert_eq!(ic["profile"], json!("isolated"));
    assert_eq!(ic["allocator"], json!("py-malloc-debug"));
    assert_eq!(ic["coerce_c_locale"], json!("LC_CTYPE"));
    assert_eq!(ic["bytes_warning"], json!("raise"));
    assert_eq!(ic["check_hash_pycs_mode"], json!("always"));
    assert_eq!(ic["optimization_level"], json!(2));
    assert_eq!(value["allocator_backend"], json!("system"));
    assert_eq!(value["multiprocessing_start_method"], json!("forkserver"));
    assert_eq!(
        value["terminfo_resolution"],
        json!("static:/etc/terminfo:/usr/share/terminfo")
    );
    // Paths and arguments are plain strings, not serde's tagged OsString form.
    assert_eq!(value["argv"], json!(["app", "--flag", "é"]));
    assert_eq!(
        ic["module_search_paths"],
        json!(["$ORIGIN/lib", "/usr/lib/python3.11"])
    );
    assert_eq!(
        value["packed_resources"],
        json!([
            {"MemoryMappedPath": "$ORIGIN/app.pyembed"},
            {"MemoryMappedPath": "/opt/app/extra.pyembed"}
        ])
    );
}

#[test]
fn every_enum_value_round_trips_through_json() {
    fn check<T>(values: &[T])
    where
        T: serde::Serialize
            + serde::de::DeserializeOwned
            + PartialEq
            + std::fmt::Debug
            + std::fmt::Display,
    {
        for value in values {
            let encoded = serde_json::to_value(value).unwrap();
            assert_eq!(encoded, json!(value.to_string()), "{value:?}");
            assert_eq!(&serde_json::from_value::<T>(encoded).unwrap(), value);
        }
    }
    check(PythonInterpreterProfile::ALL);
    check(Allocator::ALL);
    check(MemoryAllocatorBackend::ALL);
    check(BytesWarning::ALL);
    check(CheckHashPycsMode::ALL);
    check(CoerceCLocale::ALL);
    check(MultiprocessingStartMethod::ALL);
    check(&[
        TerminfoResolution::Dynamic,
        TerminfoResolution::None,
        TerminfoResolution::Static("/x:/y".into()),
    ]);
    for level in BytecodeOptimizationLevel::ALL {
        let encoded = serde_json::to_value(level).unwrap();
        assert_eq!(encoded, json!(*level as u8));
        assert_eq!(
            serde_json::from_value::<BytecodeOptimizationLevel>(encoded).unwrap(),
            *level
        );
    }
}

#[test]
fn a_hand_written_toml_document_is_read() {
    let config: OxidizedPythonInterpreterConfig = toml::from_str(
        r#"
        sys_frozen = true
        argv = ["app", "--verbose"]
        multiprocessing_start_method = "spawn"
        terminfo_resolution = "none"

        [interpreter_config]
        profile = "python"
        optimization_level = 1
        module_search_paths = ["$ORIGIN/lib"]
        x_options = ["utf8"]
        "#,
    )
    .unwrap();
    assert!(config.sys_frozen);
    assert_eq!(
        config.argv,
        Some(vec![OsString::from("app"), OsString::from("--verbose")])
    );
    assert_eq!(
        config.multiprocessing_start_method,
        MultiprocessingStartMethod::Spawn
    );
    assert_eq!(config.terminfo_resolution, TerminfoResolution::None);
    let ic = &config.interpreter_config;
    assert_eq!(ic.profile, PythonInterpreterProfile::Python);
    assert_eq!(ic.optimization_level, Some(BytecodeOptimizationLevel::One));
    assert_eq!(ic.module_search_paths, Some(vec!["$ORIGIN/lib".into()]));
    assert_eq!(ic.x_options, Some(vec!["utf8".to_string()]));
    // Everything not mentioned keeps the default.
    assert_eq!(ic.verbose, None);
    assert!(config.filesystem_importer);
}

#[test]
fn an_empty_document_is_the_default_configuration() {
    let config: OxidizedPythonInterpreterConfig = toml::from_str("").unwrap();
    assert_eq!(config, OxidizedPythonInterpreterConfig::default());
    let config: OxidizedPythonInterpreterConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(config, OxidizedPythonInterpreterConfig::default());
}

#[test]
fn a_partial_interpreter_config_table_keeps_the_default_profile() {
    let config: OxidizedPythonInterpreterConfig =
        toml::from_str("[interpreter_config]\nverbose = true\n").unwrap();
    assert_eq!(config.interpreter_config.verbose, Some(true));
    assert_eq!(
        config.interpreter_config.profile,
        OxidizedPythonInterpreterConfig::default()
            .interpreter_config
            .profile
    );
}

#[test]
fn unknown_fields_are_rejected_with_their_name() {
    let err = toml::from_str::<OxidizedPythonInterpreterConfig>("sys_frozn = true\n").unwrap_err();
    assert!(
        err.to_string().contains("unknown field `sys_frozn`"),
        "{err}"
    );
    let err = serde_json::from_str::<OxidizedPythonInterpreterConfig>(
        r#"{"interpreter_config": {"verbos": true}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown field `verbos`"), "{err}");
}

#[test]
fn unknown_enum_values_list_the_accepted_ones() {
    let err = serde_json::from_str::<OxidizedPythonInterpreterConfig>(
        r#"{"allocator_backend": "tcmalloc"}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(
            "`tcmalloc` is not a valid MemoryAllocatorBackend; expected one of: \
             default system jemalloc mimalloc snmalloc rust"
        ),
        "{err}"
    );
    let err = toml::from_str::<OxidizedPythonInterpreterConfig>(
        "[interpreter_config]\noptimization_level = 3\n",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("is not a valid BytecodeOptimizationLevel"),
        "{err}"
    );
    let err =
        toml::from_str::<OxidizedPythonInterpreterConfig>("terminfo_resolution = \"static\"\n")
            .unwrap_err();
    assert!(
        err.to_string().contains("dynamic none static:<dirs>"),
        "{err}"
    );
}

#[test]
fn a_non_utf8_argument_cannot_be_serialised() {
    let config = OxidizedPythonInterpreterConfig {
        argv: Some(vec![OsString::from_vec(vec![b'a', 0xff])]),
        ..Default::default()
    };
    let err = serde_json::to_string(&config).unwrap_err();
    assert!(
        err.to_string()
            .contains("is not valid UTF-8 and cannot be serialized"),
        "{err}"
    );
    assert!(toml::to_string(&config).is_err());
}

#[test]
fn extension_modules_are_not_serialised() {
    extern "C" fn init() -> *mut pyo3::ffi::PyObject {
        std::ptr::null_mut()
    }
    let config = OxidizedPythonInterpreterConfig {
        extra_extension_modules: Some(vec![ExtensionModule {
            name: c"m".into(),
            init_func: init,
        }]),
        ..Default::default()
    };
    let value = serde_json::to_value(&config).unwrap();
    assert!(value.get("extra_extension_modules").is_none());
    let back: OxidizedPythonInterpreterConfig = serde_json::from_value(value).unwrap();
    assert_eq!(back.extra_extension_modules, None);
}

#[test]
fn in_memory_packed_resources_cannot_be_serialised() {
    static BYTES: &[u8] = b"not a container";
    let config = OxidizedPythonInterpreterConfig {
        packed_resources: vec![PackedResourcesSource::Memory(BYTES)],
        ..Default::default()
    };
    let err = serde_json::to_string(&config).unwrap_err();
    assert!(err.to_string().contains("Memory"), "{err}");
}

#[test]
fn packed_resources_are_read_from_toml() {
    let config: OxidizedPythonInterpreterConfig =
        toml::from_str("packed_resources = [{ MemoryMappedPath = \"$ORIGIN/app.pyembed\" }]\n")
            .unwrap();
    assert_eq!(
        config.packed_resources,
        vec![PackedResourcesSource::MemoryMappedPath(
            "$ORIGIN/app.pyembed".into()
        )]
    );
}
