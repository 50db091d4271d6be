//! Reading the repository's Dockerfile: its instructions by build stage (continuation lines
//! joined, comments and parser directives left out) and the exec-form (JSON array) arguments
//! of ENTRYPOINT, CMD and HEALTHCHECK.

use std::path::{Path, PathBuf};

/// One instruction: the stage it belongs to (0 = first `FROM`), its keyword in upper case and
/// the rest of its line.
#[derive(Debug, Clone)]
pub struct Instruction {
    pub stage: usize,
    pub keyword: String,
    pub args: String,
}

pub fn path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile")
}

/// Every instruction of the Dockerfile, in order.
pub fn instructions() -> Vec<Instruction> {
    let text = std::fs::read_to_string(path()).expect("read Dockerfile");
    let mut out = Vec::new();
    let mut stage = None::<usize>;
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if current.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if t.starts_with('#') {
            // A comment inside a continued instruction.
            continue;
        }
        if let Some(head) = t.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(t);
        let logical = std::mem::take(&mut current);
        let (keyword, args) = logical
            .split_once(char::is_whitespace)
            .unwrap_or((&logical, ""));
        let keyword = keyword.to_ascii_uppercase();
        if keyword == "FROM" {
            stage = Some(stage.map_or(0, |s| s + 1));
        }
        out.push(Instruction {
            stage: stage.unwrap_or(0),
            keyword,
            args: args.trim().to_string(),
        });
    }
    out
}

/// The JSON array of an exec-form instruction (`CMD ["a", "b"]`), after any `--option=...`
/// flags (as HEALTHCHECK has) and a leading `CMD`.
pub fn exec_form(args: &str) -> Option<Vec<String>> {
    let mut rest = args.trim();
    while rest.starts_with("--") {
        rest = rest.split_once(char::is_whitespace)?.1.trim_start();
    }
    let rest = rest.strip_prefix("CMD").unwrap_or(rest).trim_start();
    serde_json::from_str(rest).ok()
}

/// The last instruction `keyword` of the final stage.
pub fn last(keyword: &str) -> Option<Instruction> {
    let all = instructions();
    let final_stage = all.iter().map(|i| i.stage).max()?;
    all.into_iter()
        .rev()
        .find(|i| i.stage == final_stage && i.keyword == keyword)
}

/// What the image runs: its ENTRYPOINT then its CMD (both in exec form).
pub fn command_line() -> Vec<String> {
    let entry = last("ENTRYPOINT")
        .and_then(|i| exec_form(&i.args))
        .unwrap_or_default();
    let cmd = last("CMD")
        .and_then(|i| exec_form(&i.args))
        .unwrap_or_default();
    entry.into_iter().chain(cmd).collect()
}
