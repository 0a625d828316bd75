//! The C host (`bindings/c`, `tether.h`), driven as a C user would: the conformance
//! runner against every vector, the API's edges, the libmosquitto device app
//! through a real broker restart, and valgrind over all of them.
//!
//! The C pieces are built on demand by [`tether_tests::c_host::build`] (cmake, which
//! runs cargo on `bindings/c/capi` for the wasmtime C API): the first run on a machine
//! compiles wasmtime and takes minutes, later runs a second. What the build needs
//! comes from `scripts/setup`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use tether_tests::broker::Broker;
use tether_tests::c_host::{self, has_program};
use tether_tests::{component_path, fail, workspace_root};

fn built() -> PathBuf {
    match c_host::build() {
        Ok(dir) => dir,
        Err(e) => fail(&e),
    }
}

fn vectors_dir() -> PathBuf {
    workspace_root()
        .join("tests")
        .join("conformance")
        .join("vectors")
}

fn output_of(cmd: &mut Command) -> Output {
    match cmd.output() {
        Ok(out) => out,
        Err(e) => fail(&format!("cannot run {:?}: {e}", cmd.get_program())),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `<name>: <expected>` for every vector, in file-name order (as bytes).
fn expected_lines() -> Vec<String> {
    let dir = vectors_dir();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) => fail(&format!("cannot read {}: {e}", dir.display())),
    };
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    files
        .iter()
        .map(|path| {
            let source = std::fs::read_to_string(path)
                .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", path.display())));
            let vector: serde_json::Value = serde_json::from_str(&source)
                .unwrap_or_else(|e| fail(&format!("{} is not JSON: {e}", path.display())));
            let field = |key: &str| {
                vector
                    .get(key)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| fail(&format!("{} has no string `{key}`", path.display())))
            };
            format!("{}: {}", field("name"), field("expected"))
        })
        .collect()
}

#[test]
fn c_runner_prints_the_expected_line_of_every_vector() {
    built();
    let out = output_of(
        Command::new(c_host::conformance_runner())
            .arg(component_path())
            .arg(vectors_dir()),
    );
    if !out.status.success() {
        fail(&format!(
            "the C runner failed ({}):\n{}",
            out.status,
            text(&out.stderr)
        ));
    }
    let stdout = text(&out.stdout);
    let actual: Vec<&str> = stdout.lines().collect();
    let expected = expected_lines();
    assert!(
        !expected.is_empty(),
        "no vectors in {}",
        vectors_dir().display()
    );
    assert!(
        stdout.ends_with('\n'),
        "the runner's last line has no newline"
    );
    let mut differences = Vec::new();
    for (i, want) in expected.iter().enumerate() {
        let got = actual.get(i).copied().unwrap_or("(no line)");
        if got != want {
            differences.push(format!(
                "line {}:\n  expected {want}\n  actual   {got}",
                i.saturating_add(1)
            ));
        }
    }
    assert!(
        actual.len() == expected.len() && differences.is_empty(),
        "the C runner printed {} lines for {} vectors; {} differ:\n{}",
        actual.len(),
        expected.len(),
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn c_api_reports_bad_input_instead_of_aborting() {
    let dir = built();
    // The API's own checks: NULLs, strings that are not UTF-8, enums out of range,
    // refusals, callbacks that call back in or free their connection.
    let out = output_of(Command::new(dir.join("tether_api_test")).arg(component_path()));
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(", 0 failed"),
        "tether_api_test failed ({}):\n{stdout}\n{}",
        out.status,
        text(&out.stderr)
    );

    // The runner names what it cannot read, and exits 2.
    let out = output_of(
        Command::new(c_host::conformance_runner())
            .arg("/nonexistent/tether.wasm")
            .arg(vectors_dir()),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        text(&out.stderr).contains("/nonexistent/tether.wasm"),
        "{}",
        text(&out.stderr)
    );
    let scratch = scratch_dir("bad-vector");
    write(
        &scratch.join("100-classify-bad.json"),
        r#"{"name": "classify/bad", "kind": "classify", "failure": {"network": "bogus"}, "expected": "-"}"#,
    );
    let out = output_of(
        Command::new(c_host::conformance_runner())
            .arg(component_path())
            .arg(&scratch),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("100-classify-bad.json") && stderr.contains("bogus"),
        "{stderr}"
    );
    let junk = scratch.join("junk.wasm");
    write(&junk, "not a component");
    let out = output_of(
        Command::new(c_host::conformance_runner())
            .arg(&junk)
            .arg(vectors_dir()),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("compiling the tether component"),
        "{stderr}"
    );

    // The device app refuses a bad configuration with the field's name.
    let out = output_of(
        Command::new(c_host::device_app())
            .arg("--wasm")
            .arg(component_path())
            .args([
                "--config",
                r#"{"hub": "127.0.0.1:1", "policy": {"initial-ms": "fast"}}"#,
            ]),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("policy.initial-ms"), "{stderr}");
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A running device app whose stdout lines arrive on a channel.
struct App {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl App {
    fn spawn(cmd: &mut Command) -> App {
        let mut child = match cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
            Ok(child) => child,
            Err(e) => fail(&format!("cannot start the device app: {e}")),
        };
        let (tx, rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        App {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Read lines until one contains `needle`.
    fn wait_for(&mut self, needle: &str, limit: Duration) {
        let deadline = Instant::now().checked_add(limit);
        loop {
            let left = deadline.map_or(Duration::ZERO, |d| {
                d.saturating_duration_since(Instant::now())
            });
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    fail(&format!(
                        "the device app printed no line with {needle:?} within {limit:?}; it \
                         printed:\n{}\nstderr:\n{}",
                        self.seen.join("\n"),
                        self.stderr()
                    ));
                }
            }
        }
    }

    /// Wait for the app to exit; every line it printed.
    fn finish(&mut self, limit: Duration) -> (ExitStatus, String) {
        let started = Instant::now();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() < limit => {
                    thread::sleep(Duration::from_millis(50));
                }
                Ok(None) | Err(_) => {
                    let _ = self.child.kill();
                    self.seen.extend(self.lines.try_iter());
                    fail(&format!(
                        "the device app did not exit within {limit:?}; it printed:\n{}",
                        self.seen.join("\n")
                    ));
                }
            }
        };
        // The reader thread ends at end of file.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status, self.seen.join("\n"))
    }

    fn stderr(&mut self) -> String {
        let mut s = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut s);
        }
        s
    }
}

fn device_command(port: u16, messages: u32) -> Command {
    let mut cmd = Command::new(c_host::device_app());
    cmd.arg("--wasm")
        .arg(component_path())
        .arg("--port")
        .arg(port.to_string())
        .args(["--messages", &messages.to_string()])
        .args(["--interval-ms", "100", "--timeout-s", "90"]);
    cmd
}

#[test]
fn c_device_app_delivers_every_message_through_a_broker_restart() {
    built();
    let mut broker = Broker::start().unwrap_or_else(|e| fail(&format!("mosquitto: {e}")));
    let messages = 30u32;
    let mut app = App::spawn(&mut device_command(broker.port(), messages));
    app.wait_for("outcome 3 delivered", Duration::from_secs(60));
    broker
        .kill()
        .unwrap_or_else(|e| fail(&format!("killing mosquitto: {e}")));
    // tether keeps retrying while the broker is down: wait for a refused attempt.
    app.wait_for("cause=net/refused", Duration::from_secs(30));
    broker
        .restart()
        .unwrap_or_else(|e| fail(&format!("restarting mosquitto: {e}")));
    let (status, output) = app.finish(Duration::from_secs(120));
    let stderr = app.stderr();
    assert!(
        status.success(),
        "the device app exited with {status}:\n{output}\nstderr:\n{stderr}"
    );
    assert!(
        output.contains(&format!(
            "summary accepted={messages} delivered={messages} failed=0 refused=0"
        )),
        "{output}"
    );
    let statuses: Vec<&str> = output
        .lines()
        .filter_map(|l| l.split_once("] status ").map(|(_, s)| s))
        .collect();
    assert_eq!(
        statuses,
        [
            "connected connection-ok",
            "disconnected-retrying communication-error",
            "connected connection-ok",
            "disabled client-close",
        ],
        "{output}"
    );
    for n in 1..=messages {
        let line = format!("outcome {n} delivered");
        let count = output.lines().filter(|l| l.ends_with(&line)).count();
        assert_eq!(count, 1, "{line:?} printed {count} times:\n{output}");
    }
    assert!(
        output.contains("] decide backoff ") && output.contains("cause=net/refused"),
        "{output}"
    );
}

fn valgrind(program: &Path, args: &[&std::ffi::OsStr]) -> Command {
    let mut cmd = Command::new("valgrind");
    cmd.arg("--leak-check=full")
        .arg("--errors-for-leak-kinds=definite")
        .arg("--error-exitcode=99")
        .arg(format!(
            "--suppressions={}",
            c_host::valgrind_suppressions().display()
        ))
        .arg(program)
        .args(args);
    cmd
}

fn assert_clean(what: &str, out: &Output) {
    let stderr = text(&out.stderr);
    let report: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("Warning: set address range perms"))
        .collect();
    assert!(
        out.status.code() != Some(99) && out.status.success(),
        "{what} under valgrind exited with {}:\n{}",
        out.status,
        report.join("\n")
    );
    assert!(
        stderr.contains("definitely lost: 0 bytes") || stderr.contains("no leaks are possible"),
        "{what}: valgrind found a definite leak:\n{}",
        report.join("\n")
    );
}

#[test]
fn c_host_has_no_definite_leaks_under_valgrind() {
    built();
    if !has_program("valgrind") {
        fail("valgrind is not installed: run scripts/setup");
    }
    let wasm = component_path();
    let vectors = vectors_dir();
    let out = output_of(&mut valgrind(
        &c_host::conformance_runner(),
        &[wasm.as_os_str(), vectors.as_os_str()],
    ));
    assert_clean("the conformance runner", &out);
    // Every vector, the identity ones included, byte for byte as without valgrind.
    let want: String = expected_lines().iter().map(|l| format!("{l}\n")).collect();
    assert!(
        want.contains("\nidentity/"),
        "no identity vectors for valgrind to cover"
    );
    assert_eq!(
        text(&out.stdout),
        want,
        "the runner under valgrind printed other lines than the vectors' `expected`"
    );

    let api_test = c_host::out_dir().join("tether_api_test");
    let out = output_of(&mut valgrind(&api_test, &[wasm.as_os_str()]));
    assert_clean("tether_api_test", &out);

    let _broker = Broker::start().unwrap_or_else(|e| fail(&format!("mosquitto: {e}")));
    let port = _broker.port().to_string();
    let out = output_of(&mut valgrind(
        &c_host::device_app(),
        &[
            "--wasm".as_ref(),
            wasm.as_os_str(),
            "--port".as_ref(),
            port.as_ref(),
            "--messages".as_ref(),
            "3".as_ref(),
            "--interval-ms".as_ref(),
            "20".as_ref(),
        ],
    ));
    assert_clean("the device app", &out);
    assert!(
        text(&out.stdout).contains("summary accepted=3 delivered=3 failed=0"),
        "{}",
        text(&out.stdout)
    );
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = c_host::out_dir()
        .join("scratch")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        fail(&format!("cannot create {}: {e}", dir.display()));
    }
    dir
}

fn write(path: &Path, contents: &str) {
    if let Err(e) = std::fs::write(path, contents) {
        fail(&format!("cannot write {}: {e}", path.display()));
    }
}

/// An app outside the source tree: the embedded component, one classification
/// and one identity call, so a link or header problem shows as a failure.
const OUTSIDE_APP: &str = r#"#include <stdio.h>
#include <tether.h>

int main(void) {
    tether_error *err = NULL;
    tether_runtime *rt = tether_runtime_new_embedded(&err);
    if (!rt) {
        fprintf(stderr, "no runtime: %s\n", tether_error_message(err));
        tether_error_free(err);
        return 1;
    }
    size_t len = 0;
    tether_embedded_component(&len);
    tether_failure f = tether_failure_mqtt_connack(5);
    tether_classification c;
    if (tether_classify(rt, &f, &c) != TETHER_OK) return 2;
    char *uri = NULL;
    if (tether_hub_resource_uri(rt, "hub.example", "dev-1", NULL, &uri, NULL) != TETHER_OK) return 3;
    printf("component=%zu verdict=%s uri=%s\n", len, tether_verdict_name(c.verdict), uri);
    tether_string_free(uri);
    tether_runtime_free(rt);
    return 0;
}
"#;

#[test]
fn the_installed_library_builds_outside_apps_with_find_package_and_pkg_config() {
    let dir = scratch_dir("install");
    let prefix = dir.join("prefix");
    if let Err(e) = c_host::install(&prefix) {
        fail(&e);
    }
    for file in [
        "include/tether.h",
        "lib/libtether.a",
        "lib/libtether_capi.a",
        "lib/cmake/tether/tetherConfig.cmake",
        "lib/pkgconfig/tether.pc",
    ] {
        assert!(prefix.join(file).is_file(), "{file} is not installed");
    }
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap_or_else(|e| fail(&e.to_string()));
    write(&app.join("main.c"), OUTSIDE_APP);
    write(
        &app.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.18)\nproject(outside C)\n\
         find_package(tether 0.1 REQUIRED)\nadd_executable(outside main.c)\n\
         target_link_libraries(outside PRIVATE tether::tether)\n",
    );
    let wasm_len = std::fs::metadata(component_path())
        .map(|m| m.len())
        .unwrap_or_else(|e| fail(&e.to_string()));
    let expect =
        format!("component={wasm_len} verdict=renew-credential uri=hub.example/devices/dev-1\n");
    // find_package, from the installed config only.
    let build = app.join("build");
    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(&app)
        .arg("-B")
        .arg(&build)
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()));
    c_host::run(&mut configure, "configuring the outside app").unwrap_or_else(|e| fail(&e));
    let mut compile = Command::new("cmake");
    compile.arg("--build").arg(&build);
    c_host::run(&mut compile, "building the outside app").unwrap_or_else(|e| fail(&e));
    // The app names no component file: libtether carries it.
    let out = output_of(&mut Command::new(build.join("outside")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), expect);
    // pkg-config, with nothing but the .pc file's flags.
    let flags = output_of(
        Command::new("pkg-config")
            .args(["--cflags", "--libs", "--static", "tether"])
            .env("PKG_CONFIG_PATH", prefix.join("lib").join("pkgconfig")),
    );
    assert!(flags.status.success(), "{}", text(&flags.stderr));
    let flags = text(&flags.stdout);
    let exe = app.join("outside-pc");
    let mut cc = Command::new("cc");
    cc.arg(app.join("main.c")).arg("-o").arg(&exe);
    cc.args(flags.split_whitespace());
    let built = output_of(&mut cc);
    assert!(
        built.status.success(),
        "cc {flags}: {}",
        text(&built.stderr)
    );
    let out = output_of(&mut Command::new(&exe));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), expect);
}
