//! Sizes of a parsed document as if every fragment spread were expanded,
//! computed without expanding: each fragment's size is worked out once and
//! reused wherever it is spread. A document whose fragments each spread the
//! previous one twice doubles its expanded size per level while its text
//! grows by a line; this finds that in time proportional to the text, where
//! validation (which does expand) would take exponential time and memory.

use std::collections::HashMap;

use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned};

/// What admission limits look at, summed over every operation in the
/// document (validation visits them all, whichever one runs).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Shape {
    /// A fragment that spreads itself, directly or through others. Such a
    /// document must be refused before validation, whose depth and cost
    /// passes would follow the cycle until the stack overflows.
    pub cycle: Option<String>,
    /// Field selections, fragments expanded.
    pub fields: u64,
    /// Aliased field selections, fragments expanded.
    pub aliases: u64,
    /// The most directives on any one selection or definition.
    pub max_directives: usize,
}

#[derive(Clone, Copy, Default)]
struct Size {
    fields: u64,
    aliases: u64,
}

impl Size {
    fn add(&mut self, other: Size) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
    }
}

enum Memo {
    InProgress,
    Done(Size),
}

struct Walker<'a> {
    doc: &'a ExecutableDocument,
    fragments: HashMap<&'a Name, Memo>,
    max_directives: usize,
    cycle: Option<&'a Name>,
}

pub fn measure(doc: &ExecutableDocument) -> Shape {
    let mut walker = Walker {
        doc,
        fragments: HashMap::new(),
        max_directives: 0,
        cycle: None,
    };
    let mut total = Size::default();
    for (_, operation) in doc.operations.iter() {
        total.add(walker.operation(&operation.node));
    }
    // Fragments nobody spreads are still validated; their directives count.
    for name in doc.fragments.keys() {
        walker.fragment(name);
    }
    Shape {
        cycle: walker.cycle.map(ToString::to_string),
        fields: total.fields,
        aliases: total.aliases,
        max_directives: walker.max_directives,
    }
}

impl<'a> Walker<'a> {
    fn operation(&mut self, operation: &'a OperationDefinition) -> Size {
        self.directives(operation.directives.len());
        for variable in &operation.variable_definitions {
            self.directives(variable.node.directives.len());
        }
        self.selection_set(&operation.selection_set)
    }

    fn directives(&mut self, count: usize) {
        self.max_directives = self.max_directives.max(count);
    }

    fn selection_set(&mut self, set: &'a Positioned<SelectionSet>) -> Size {
        let mut size = Size::default();
        for item in &set.node.items {
            match &item.node {
                Selection::Field(field) => {
                    self.directives(field.node.directives.len());
                    size.add(Size {
                        fields: 1,
                        aliases: u64::from(field.node.alias.is_some()),
                    });
                    size.add(self.selection_set(&field.node.selection_set));
                }
                Selection::InlineFragment(inline) => {
                    self.directives(inline.node.directives.len());
                    size.add(self.selection_set(&inline.node.selection_set));
                }
                Selection::FragmentSpread(spread) => {
                    self.directives(spread.node.directives.len());
                    size.add(self.fragment(&spread.node.fragment_name.node));
                }
            }
        }
        size
    }

    /// A fragment's expanded size, computed on first use. A spread of a
    /// fragment still being measured is a cycle, which validation refuses;
    /// it counts as empty here so measuring always ends.
    fn fragment(&mut self, name: &'a Name) -> Size {
        match self.fragments.get(name) {
            Some(Memo::Done(size)) => return *size,
            Some(Memo::InProgress) => {
                self.cycle.get_or_insert(name);
                return Size::default();
            }
            None => {}
        }
        let Some(fragment) = self.doc.fragments.get(name) else {
            return Size::default();
        };
        self.fragments.insert(name, Memo::InProgress);
        self.directives(fragment.node.directives.len());
        let size = self.selection_set(&fragment.node.selection_set);
        self.fragments.insert(name, Memo::Done(size));
        size
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn shape(doc: &str) -> Shape {
        measure(&parse_query(doc).unwrap())
    }

    #[test]
    fn counts_fields_and_aliases_with_fragments_expanded() {
        let s = shape(
            "{ a: viewer { id ...U } } fragment U on User { b: name ...V ...V } fragment V on User { email }",
        );
        assert_eq!(s.fields, 5);
        assert_eq!(s.aliases, 2);
        assert_eq!(s.max_directives, 0);
        let s = shape("{ viewer @include(if: true) @skip(if: false) { id } }");
        assert_eq!(s.max_directives, 2);
    }

    #[test]
    fn a_fragment_bomb_is_measured_without_expanding() {
        let mut doc = String::from("query { ...F40 } fragment F0 on Query { __typename }\n");
        for level in 1..=40 {
            let below = level - 1;
            doc.push_str(&format!(
                "fragment F{level} on Query {{ ...F{below} ...F{below} }}\n"
            ));
        }
        let started = std::time::Instant::now();
        let s = shape(&doc);
        assert_eq!(s.fields, 1 << 40);
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn cycles_end() {
        let s = shape("{ ...A } fragment A on Query { a ...B } fragment B on Query { b ...A }");
        assert_eq!(s.fields, 2);
        assert_eq!(s.cycle.as_deref(), Some("A"));
        assert_eq!(shape("{ ...A ...A } fragment A on Query { a }").cycle, None);
    }
}
