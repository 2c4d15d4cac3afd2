//! Running the real `sigtrail` binary, shared by the CLI's test binaries.

use std::path::Path;
use std::process::Command;

/// The `sigtrail` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sigtrail");

/// What a finished `sigtrail` run left.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `sigtrail` with `args` in `dir` and waits for it.
pub fn sigtrail(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sigtrail");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}
