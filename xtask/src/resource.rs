//! `new-resource`: a slice written from the templates in `templates/`,
//! which mirror the hand-written Projects slice, and registered at the
//! plug-in points the `// new-resource: <point>` comments mark.

use std::{
    fmt,
    path::{Path, PathBuf},
    process::Command,
};

use crate::names::Names;

pub struct Options {
    pub name: String,
    pub plural: Option<String>,
    pub schema: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut name = None;
        let mut plural = None;
        let mut schema = true;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--plural" => {
                    plural = Some(args.next().ok_or("--plural needs a value")?.clone());
                }
                "--no-schema" => schema = false,
                flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
                value if name.is_none() => name = Some(value.to_owned()),
                extra => return Err(format!("unexpected argument {extra:?}")),
            }
        }
        Ok(Self {
            name: name.ok_or("give the resource's name")?,
            plural,
            schema,
        })
    }
}

/// A file the template writes: where, and from which template.
struct NewFile {
    path: String,
    template: &'static str,
}

/// The slice's own files, by path under the workspace root.
fn new_files(migration: &str) -> Vec<NewFile> {
    vec![
        NewFile {
            path: format!("migrations/src/{migration}.rs"),
            template: include_str!("templates/migration.rs"),
        },
        NewFile {
            path: "crates/domain/src/__names__/mod.rs".into(),
            template: include_str!("templates/domain_mod.rs"),
        },
        NewFile {
            path: "crates/domain/src/__names__/entity.rs".into(),
            template: include_str!("templates/domain_entity.rs"),
        },
        NewFile {
            path: "crates/domain/src/__names__/service.rs".into(),
            template: include_str!("templates/domain_service.rs"),
        },
        NewFile {
            path: "crates/api/src/slices/__names__/mod.rs".into(),
            template: include_str!("templates/api_mod.rs"),
        },
        NewFile {
            path: "crates/api/src/slices/__names__/loaders.rs".into(),
            template: include_str!("templates/api_loaders.rs"),
        },
        NewFile {
            path: "tests/api/__names__.rs".into(),
            template: include_str!("templates/tests.rs"),
        },
    ]
}

/// A line added at a plug-in point of an existing file.
struct Registration {
    path: &'static str,
    point: &'static str,
    line: &'static str,
}

/// The four existing files a slice is registered in.
const REGISTRATIONS: &[Registration] = &[
    Registration {
        path: "migrations/src/lib.rs",
        point: "module",
        line: "mod __migration__;",
    },
    Registration {
        path: "migrations/src/lib.rs",
        point: "migration",
        line: "Box::new(__migration__::Migration),",
    },
    Registration {
        path: "crates/domain/src/lib.rs",
        point: "module",
        line: "pub mod __names__;",
    },
    Registration {
        path: "crates/api/src/slices/mod.rs",
        point: "module",
        line: "pub mod __names__;",
    },
    Registration {
        path: "crates/api/src/slices/mod.rs",
        point: "query",
        line: "__names__::__Name__Query,",
    },
    Registration {
        path: "crates/api/src/slices/mod.rs",
        point: "mutation",
        line: "__names__::__Name__Mutation,",
    },
    Registration {
        path: "crates/api/src/slices/mod.rs",
        point: "subscription",
        line: "__names__::__Name__Subscription,",
    },
    Registration {
        path: "crates/api/src/slices/mod.rs",
        point: "organization",
        line: "__names__: __names__::Organization__Names__,",
    },
    Registration {
        path: "crates/api/src/slices/mod.rs",
        point: "metered",
        line: "crate::__names__::__NAMES__,",
    },
    Registration {
        path: "crates/api/src/slices/mod.rs",
        point: "node",
        line: "__Name__ => __names__::__Name__,",
    },
    Registration {
        path: "tests/api/main.rs",
        point: "module",
        line: "mod __names__;",
    },
];

/// What a run did, for the person who ran it.
pub struct Written {
    created: Vec<String>,
    changed: Vec<String>,
    names: Names,
    schema: bool,
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Wrote the {} resource:", self.names.pascal)?;
        for path in &self.created {
            writeln!(f, "  new      {path}")?;
        }
        for path in &self.changed {
            writeln!(f, "  changed  {path}")?;
        }
        if self.schema {
            writeln!(f, "  printed  schema.graphql")?;
        } else {
            writeln!(
                f,
                "Print the schema anew: cargo run -- schema > schema.graphql"
            )?;
        }
        write!(
            f,
            "Limit it per plan with `{} = N` under a plan's limits in PLANS_FILE; \
             run its tests with `cargo test --test api {}`.",
            self.names.snake_plural, self.names.snake_plural
        )
    }
}

pub fn generate(root: &Path, options: &Options) -> Result<Written, String> {
    let names = Names::new(&options.name, options.plural.as_deref())?;
    let migration = migration_name(root, &names)?;
    let fill = |text: &str| names.fill(&text.replace("__migration__", &migration));
    let files: Vec<(PathBuf, String)> = new_files(&migration)
        .into_iter()
        .map(|f| (root.join(fill(&f.path)), fill(f.template)))
        .collect();
    for (path, _) in &files {
        if path.exists() {
            return Err(format!(
                "{} exists already: is there a {} resource?",
                path.display(),
                names.pascal
            ));
        }
    }
    // Every registration is checked before anything is written, so a run
    // that fails leaves the tree as it was.
    let mut edited: Vec<(&str, String)> = Vec::new();
    for registration in REGISTRATIONS {
        let text = match edited.iter().position(|(p, _)| *p == registration.path) {
            Some(i) => edited.remove(i).1,
            None => std::fs::read_to_string(root.join(registration.path))
                .map_err(|e| format!("{}: {e}", registration.path))?,
        };
        let text = register(&text, registration.point, &fill(registration.line))
            .map_err(|e| format!("{}: {e}", registration.path))?;
        edited.push((registration.path, text));
    }

    let mut created = Vec::new();
    for (path, text) in &files {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        created.push(relative(root, path));
    }
    let mut changed = Vec::new();
    for (path, text) in &edited {
        std::fs::write(root.join(path), text).map_err(|e| format!("{path}: {e}"))?;
        changed.push((*path).to_owned());
    }
    let touched: Vec<PathBuf> = files
        .iter()
        .map(|(p, _)| p.clone())
        .chain(edited.iter().map(|(p, _)| root.join(p)))
        .collect();
    format(&touched)?;
    if options.schema {
        print_schema(root)?;
    }
    Ok(Written {
        created,
        changed,
        names,
        schema: options.schema,
    })
}

/// `text` with `line` added before the `// new-resource: <point>` comment,
/// at its indentation.
fn register(text: &str, point: &str, line: &str) -> Result<String, String> {
    let marker = format!("// new-resource: {point}");
    let at = text
        .find(&marker)
        .ok_or_else(|| format!("no `{marker}` comment to register the resource at"))?;
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[line_start..at];
    if !indent.chars().all(char::is_whitespace) {
        return Err(format!("`{marker}` must be on a line of its own"));
    }
    if text.contains(&format!("{indent}{line}\n")) {
        return Err(format!("`{line}` is registered already"));
    }
    let mut out = String::with_capacity(text.len() + line.len() + indent.len() + 1);
    out.push_str(&text[..line_start]);
    out.push_str(indent);
    out.push_str(line);
    out.push('\n');
    out.push_str(&text[line_start..]);
    Ok(out)
}

/// `mYYYYMMDD_NNNNNN_create_<plural>`: today, numbered after the
/// migrations already written today.
fn migration_name(root: &Path, names: &Names) -> Result<String, String> {
    let dir = root.join("migrations/src");
    let today = today()?;
    let prefix = format!("m{today}_");
    let mut last = 0;
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let name = entry.map_err(|e| e.to_string())?.file_name();
        let name = name.to_string_lossy();
        if let Some(number) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.get(..6))
            .and_then(|n| n.parse::<u32>().ok())
        {
            last = last.max(number);
        }
    }
    Ok(format!(
        "{prefix}{:06}_create_{}",
        last + 1,
        names.snake_plural
    ))
}

/// Today's date as `YYYYMMDD` (UTC), from the system clock.
fn today() -> Result<String, String> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let days = i64::try_from(secs / 86_400).map_err(|e| e.to_string())?;
    let (y, m, d) = civil_from_days(days);
    Ok(format!("{y:04}{m:02}{d:02}"))
}

/// The Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), so the task needs no date crate.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Formats what was written, as `cargo fmt` would.
fn format(paths: &[PathBuf]) -> Result<(), String> {
    let status = Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(paths)
        .status()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("rustfmt failed on the generated files".into())
    }
}

/// `schema.graphql` anew, from the server with the new slice in it.
fn print_schema(root: &Path) -> Result<(), String> {
    let output = Command::new(cargo())
        .current_dir(root)
        .args(["run", "--quiet", "--package", "groundwork", "--", "schema"])
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the server with the new resource does not build:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::write(root.join("schema.graphql"), output.stdout)
        .map_err(|e| format!("schema.graphql: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_go_before_their_marker_at_its_indentation() {
        let text = "mod a;\n// new-resource: module\nfn f() {\n    vec![\n        a,\n        // new-resource: item\n    ]\n}\n";
        let once = register(text, "module", "mod b;").unwrap();
        assert!(once.starts_with("mod a;\nmod b;\n// new-resource: module\n"));
        let twice = register(&once, "item", "b,").unwrap();
        assert!(twice.contains("        a,\n        b,\n        // new-resource: item\n"));
        assert!(register(&once, "module", "mod b;").is_err());
        assert!(register(text, "missing", "x").is_err());
    }

    #[test]
    fn dates_from_day_counts() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_791), (2026, 12, 4));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
