//! The spellings a resource's name takes in code, tables and the schema.

use heck::{ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

/// Every form of a resource's name, singular and plural.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `TaskList`: types, the GraphQL type.
    pub pascal: String,
    /// `TaskLists`
    pub pascal_plural: String,
    /// `task_list`: the entity module, fields.
    pub snake: String,
    /// `task_lists`: the table, the slice's folders, the metered key.
    pub snake_plural: String,
    /// `taskList`: GraphQL fields.
    pub camel: String,
    /// `taskLists`
    pub camel_plural: String,
    /// `TASK_LISTS`: the metered constant.
    pub shouty_plural: String,
    /// `task list`: messages.
    pub words: String,
    /// `task lists`
    pub words_plural: String,
}

/// Names the schema or the code already use; a resource of one of these
/// names would clash with what exists.
const TAKEN: &[&str] = &[
    "User",
    "Organization",
    "Membership",
    "Invitation",
    "Project",
    "AuditEvent",
    "Session",
    "Plan",
    "Price",
    "Usage",
    "Entitlements",
    "Node",
    "Query",
    "Mutation",
    "Subscription",
    "PageInfo",
    "Role",
    "Permission",
    "Feature",
];

impl Names {
    /// The forms of `name`, which must be a singular in PascalCase; the
    /// plural adds `s` (`es` after s, x, z, ch, sh; `ies` for a consonant
    /// and y) unless given.
    pub fn new(name: &str, plural: Option<&str>) -> Result<Self, String> {
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && name.chars().all(|c| c.is_ascii_alphanumeric())
            && name.len() <= 40;
        if !valid || name.to_upper_camel_case() != name {
            return Err(format!(
                "{name:?}: give the name in PascalCase, letters and digits (Widget, TaskList)"
            ));
        }
        if TAKEN.contains(&name) {
            return Err(format!("{name:?} is already a type of the schema"));
        }
        let pascal_plural = match plural {
            Some(plural) => {
                if plural.to_upper_camel_case() != plural
                    || !plural.chars().all(|c| c.is_ascii_alphanumeric())
                    || plural == name
                {
                    return Err(format!("{plural:?}: give the plural in PascalCase"));
                }
                plural.to_owned()
            }
            None => pluralize(name),
        };
        Ok(Self {
            snake: name.to_snake_case(),
            snake_plural: pascal_plural.to_snake_case(),
            camel: name.to_lower_camel_case(),
            camel_plural: pascal_plural.to_lower_camel_case(),
            shouty_plural: pascal_plural.to_shouty_snake_case(),
            words: name.to_snake_case().replace('_', " "),
            words_plural: pascal_plural.to_snake_case().replace('_', " "),
            pascal: name.to_owned(),
            pascal_plural,
        })
    }

    /// Fills a template's placeholders.
    pub fn fill(&self, template: &str) -> String {
        // Longer placeholders first, so none is a prefix of another's match.
        template
            .replace("__Names__", &self.pascal_plural)
            .replace("__Name__", &self.pascal)
            .replace("__names__", &self.snake_plural)
            .replace("__name__", &self.snake)
            .replace("__namesCamel__", &self.camel_plural)
            .replace("__nameCamel__", &self.camel)
            .replace("__NAMES__", &self.shouty_plural)
            .replace("__words_plural__", &self.words_plural)
            .replace("__words__", &self.words)
    }
}

fn pluralize(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let consonant_y = lower.ends_with('y')
        && lower
            .chars()
            .rev()
            .nth(1)
            .is_some_and(|c| !"aeiou".contains(c));
    if consonant_y {
        format!("{}ies", &name[..name.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        format!("{name}es")
    } else {
        format!("{name}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_name() {
        let n = Names::new("TaskList", None).unwrap();
        assert_eq!(n.pascal_plural, "TaskLists");
        assert_eq!(n.snake, "task_list");
        assert_eq!(n.snake_plural, "task_lists");
        assert_eq!(n.camel, "taskList");
        assert_eq!(n.camel_plural, "taskLists");
        assert_eq!(n.shouty_plural, "TASK_LISTS");
        assert_eq!(n.words_plural, "task lists");
        assert_eq!(
            Names::new("Category", None).unwrap().pascal_plural,
            "Categories"
        );
        assert_eq!(Names::new("Box", None).unwrap().pascal_plural, "Boxes");
        assert_eq!(Names::new("Key", None).unwrap().pascal_plural, "Keys");
        assert_eq!(
            Names::new("Person", Some("People")).unwrap().snake_plural,
            "people"
        );
        assert_eq!(
            n.fill("__Names__ __name__ __namesCamel__ __NAMES__"),
            "TaskLists task_list taskLists TASK_LISTS"
        );
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in [
            "",
            "widget",
            "task_list",
            "Task-List",
            "Project",
            "Ümlaut",
            "TASK",
        ] {
            assert!(Names::new(bad, None).is_err(), "{bad:?}");
        }
        assert!(Names::new("Widget", Some("widgets")).is_err());
    }
}
