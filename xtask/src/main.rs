//! Project tasks, run as `cargo xtask <task>`.
//!
//! `new-resource Name` writes an organization-owned resource from the
//! Projects template (entity, migration, service, GraphQL slice, loaders,
//! tests) and registers it where the `new-resource` comments mark the plug-in
//! points: four files change, and `schema.graphql` is printed anew.

mod names;
mod resource;

use std::{path::PathBuf, process::ExitCode};

const USAGE: &str = "\
usage: cargo xtask new-resource <Name> [--plural <Names>] [--no-schema]

Writes an organization-owned resource named <Name> (PascalCase, singular,
e.g. Widget or TaskList) from the Projects template, registers it, and
prints schema.graphql anew (skipped with --no-schema). --plural gives the
plural when adding an s is wrong (Person: --plural People).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (task, rest) = args.split_first().ok_or(USAGE)?;
    match task.as_str() {
        "new-resource" => {
            let options = resource::Options::parse(rest).map_err(|e| format!("{e}\n\n{USAGE}"))?;
            let root = workspace_root()?;
            let written = resource::generate(&root, &options)?;
            println!("{written}");
            Ok(())
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task {other:?}\n\n{USAGE}")),
    }
}

/// The workspace's root: the nearest folder, from where the task runs
/// upwards, whose `Cargo.toml` declares the workspace and that holds this
/// task runner (for a copy of the project, the copy).
fn workspace_root() -> Result<PathBuf, String> {
    let start = std::env::current_dir().map_err(|e| format!("no current folder: {e}"))?;
    start
        .ancestors()
        .find(|dir| {
            dir.join("xtask/Cargo.toml").is_file()
                && std::fs::read_to_string(dir.join("Cargo.toml"))
                    .is_ok_and(|manifest| manifest.contains("[workspace]"))
        })
        .map(PathBuf::from)
        .ok_or_else(|| format!("{} is not inside the Groundwork workspace", start.display()))
}
