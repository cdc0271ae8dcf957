//! Locating the real captures in `../shared/` beside the workspace, for tests and benches.
//!
//! Real captures are never copied into the repository. A test that needs one calls
//! [`require`], which returns `None` and prints why when `../shared` is absent (a user's fresh
//! clone), so the test passes as skipped there and runs in CI, where `../shared` is present.

use std::path::PathBuf;

/// The `shared/` folder beside the workspace root, if present. `TICKFORGE_SHARED` overrides.
#[allow(clippy::disallowed_methods, reason = "test and bench fixture location, not decoding")]
pub fn dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TICKFORGE_SHARED") {
        return Some(PathBuf::from(p));
    }
    // This crate lives at <workspace>/feed; shared/ sits beside <workspace>.
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("..").join("shared");
    p.is_dir().then_some(p)
}

/// `shared/<relative>` if it exists; otherwise prints a skip notice naming `what` and returns `None`.
pub fn require(relative: &str, what: &str) -> Option<PathBuf> {
    match dir().map(|d| d.join(relative)) {
        Some(p) if p.exists() => Some(p),
        _ => {
            eprintln!(
                "SKIPPED {what}: ../shared/{relative} not found (real captures live beside the workspace; see README)"
            );
            None
        }
    }
}
