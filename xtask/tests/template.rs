//! The template cannot rot: a resource generated into a copy of the project
//! changes only the files the plug-in points are in, and passes fmt, clippy
//! and its own integration tests with no edits, on the database the suite
//! runs on (`TEST_DATABASE_URL`, or SQLite).

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

/// Runs a command in `dir`, failing the test with its output when it fails.
fn run(dir: &Path, program: &str, args: &[&str], target: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        // Its own target folder: sharing the project's would mix the copy's
        // artifacts with the original's, which have the same names.
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "`{program} {}` failed in {}:\n{text}",
        args.join(" "),
        dir.display()
    );
    text
}

/// The project's files as git knows them (committed or not, ignored ones
/// left out), copied to `to`.
fn copy_project(from: &Path, to: &Path) -> BTreeSet<String> {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    let listed = Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .current_dir(from)
        .output()
        .expect("git lists the project's files");
    assert!(listed.status.success(), "git ls-files failed");
    let mut files = BTreeSet::new();
    for path in listed.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8(path.to_vec()).unwrap();
        let source = from.join(&path);
        // Files deleted but not yet committed are listed and absent.
        if !source.is_file() {
            continue;
        }
        let dest = to.join(&path);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&source, &dest).unwrap();
        files.insert(path);
    }
    files
}

#[test]
fn a_generated_resource_passes_fmt_clippy_and_its_tests() {
    let root = workspace();
    let work = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("template-check");
    let copy = work.join("project");
    let target = work.join("target");
    let before = copy_project(&root, &copy);

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let said = run(
        &copy,
        &cargo,
        &["xtask", "new-resource", "TaskList"],
        &target,
    );
    assert!(said.contains("Wrote the TaskList resource"), "{said}");

    // Four files registered it, and the schema was printed anew.
    let mut changed = BTreeSet::new();
    for path in &before {
        let old = std::fs::read(root.join(path)).unwrap();
        if std::fs::read(copy.join(path)).unwrap() != old {
            changed.insert(path.as_str());
        }
    }
    assert_eq!(
        changed,
        BTreeSet::from([
            "crates/api/src/slices/mod.rs",
            "crates/domain/src/lib.rs",
            "migrations/src/lib.rs",
            "schema.graphql",
            "tests/api/main.rs",
        ])
    );
    let schema = std::fs::read_to_string(copy.join("schema.graphql")).unwrap();
    for part in [
        "type TaskList implements Node",
        "taskLists(first: Int, after: String): TaskListConnection!",
        "createTaskList(input: CreateTaskListInput!): TaskList!",
        "taskListEvents(",
        "): TaskListEvent!",
    ] {
        assert!(schema.contains(part), "schema.graphql lacks {part:?}");
    }
    // Running it again is refused and changes nothing.
    let again = Command::new(&cargo)
        .args(["xtask", "new-resource", "TaskList", "--no-schema"])
        .current_dir(&copy)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(!again.status.success());

    run(&copy, &cargo, &["fmt", "--all", "--", "--check"], &target);
    run(
        &copy,
        &cargo,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
        &target,
    );
    let tested = run(
        &copy,
        &cargo,
        &["test", "--test", "api", "task_lists"],
        &target,
    );
    assert!(
        tested.contains("test result: ok. 6 passed"),
        "the generated tests did not all run:\n{tested}"
    );
}
