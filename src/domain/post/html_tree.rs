//! HTML read back as a browser reads it, for the renderer's tests: html5ever
//! (the parser ammonia itself uses, at the same version, so nothing more
//! compiles) builds into the small tree below, and the tests walk it.
//!
//! The tree is this module's own rather than `markup5ever_rcdom`'s: that
//! crate would bring xml5ever, and a second build of html5ever's crates
//! with serde enabled, for what an arena of a few hundred lines does.

use std::borrow::Cow;
use std::cell::{Ref, RefCell};

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{local_name, ns, parse_fragment, Attribute, ParseOpts, QualName};

/// One element of parsed HTML.
#[derive(Debug)]
pub struct Element {
    /// The local name, lower-cased by the parser: `a`, `svg`, `mglyph`.
    pub name: String,
    /// Whether it is an HTML element rather than SVG or MathML.
    pub html_namespace: bool,
    /// Names (with a prefix, `xlink:href`, where the parser gave one) and
    /// values, entities decoded.
    pub attributes: Vec<(String, String)>,
    /// The names of the elements it is inside, the nearest first.
    pub ancestors: Vec<String>,
}

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every element of `html` parsed as a browser parses a fragment set as
/// a `<div>`'s content (scripting on, as in a page), in document order,
/// a `<template>`'s content included.
pub fn elements(html: &str) -> Vec<Element> {
    let context = QualName::new(None, ns!(html), local_name!("div"));
    let tree = parse_fragment(Tree::new(), ParseOpts::default(), context, vec![], true).one(html);
    let nodes = tree.nodes.into_inner();
    let mut found = Vec::new();
    // The document holds the fragment's root `<html>`, which holds the
    // fragment.
    for &root in &nodes[DOCUMENT].children {
        for &child in &nodes[root].children {
            walk(&nodes, child, &mut Vec::new(), &mut found);
        }
    }
    found
}

fn walk(nodes: &[Node], at: usize, ancestors: &mut Vec<String>, found: &mut Vec<Element>) {
    let Data::Element {
        name,
        attributes,
        template,
        ..
    } = &nodes[at].data
    else {
        return;
    };
    found.push(Element {
        name: name.local.to_string(),
        html_namespace: name.ns == ns!(html),
        attributes: attributes
            .iter()
            .map(|a| {
                let local = &a.name.local;
                let name = match &a.name.prefix {
                    Some(prefix) => format!("{prefix}:{local}"),
                    None => local.to_string(),
                };
                (name, a.value.to_string())
            })
            .collect(),
        ancestors: ancestors.iter().rev().cloned().collect(),
    });
    ancestors.push(name.local.to_string());
    let contents = template.map(|t| &nodes[t].children);
    for &child in nodes[at]
        .children
        .iter()
        .chain(contents.into_iter().flatten())
    {
        walk(nodes, child, ancestors, found);
    }
    ancestors.pop();
}

const DOCUMENT: usize = 0;

enum Data {
    /// The document, or a template's content.
    Document,
    Element {
        name: QualName,
        attributes: Vec<Attribute>,
        template: Option<usize>,
        integration_point: bool,
    },
    Text(String),
    /// Comments and processing instructions.
    Other,
}

struct Node {
    data: Data,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// The parser's tree: nodes in an arena, a handle being an index.
struct Tree {
    nodes: RefCell<Vec<Node>>,
}

impl Tree {
    fn new() -> Tree {
        let tree = Tree {
            nodes: RefCell::new(Vec::new()),
        };
        tree.add(Data::Document);
        tree
    }

    fn add(&self, data: Data) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node {
            data,
            parent: None,
            children: Vec::new(),
        });
        nodes.len() - 1
    }

    fn detach(&self, node: usize) {
        let mut nodes = self.nodes.borrow_mut();
        if let Some(parent) = nodes[node].parent.take() {
            nodes[parent].children.retain(|&c| c != node);
        }
    }

    /// Inserts `child` (detached) under `parent` at `index`, or last.
    fn attach(&self, parent: usize, child: usize, index: Option<usize>) {
        let mut nodes = self.nodes.borrow_mut();
        nodes[child].parent = Some(parent);
        let children = &mut nodes[parent].children;
        children.insert(index.unwrap_or(children.len()), child);
    }

    /// Appends `text` to `node` if it is a text node.
    fn extend_text(&self, node: Option<usize>, text: &str) -> bool {
        let mut nodes = self.nodes.borrow_mut();
        match node.map(|n| &mut nodes[n].data) {
            Some(Data::Text(existing)) => {
                existing.push_str(text);
                true
            }
            _ => false,
        }
    }
}

impl TreeSink for Tree {
    type Handle = usize;
    type Output = Tree;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Tree {
        self
    }

    fn parse_error(&self, _message: Cow<'static, str>) {}

    fn get_document(&self) -> usize {
        DOCUMENT
    }

    fn elem_name<'a>(&'a self, target: &'a usize) -> Ref<'a, QualName> {
        Ref::map(self.nodes.borrow(), |nodes| match &nodes[*target].data {
            Data::Element { name, .. } => name,
            _ => panic!("not an element"),
        })
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> usize {
        let template = flags.template.then(|| self.add(Data::Document));
        self.add(Data::Element {
            name,
            attributes: attrs,
            template,
            integration_point: flags.mathml_annotation_xml_integration_point,
        })
    }

    fn create_comment(&self, _text: StrTendril) -> usize {
        self.add(Data::Other)
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
        self.add(Data::Other)
    }

    fn append(&self, parent: &usize, child: NodeOrText<usize>) {
        let child = match child {
            NodeOrText::AppendNode(node) => node,
            NodeOrText::AppendText(text) => {
                let last = self.nodes.borrow()[*parent].children.last().copied();
                if self.extend_text(last, &text) {
                    return;
                }
                self.add(Data::Text(text.to_string()))
            }
        };
        self.attach(*parent, child, None);
    }

    fn append_based_on_parent_node(
        &self,
        element: &usize,
        prev_element: &usize,
        child: NodeOrText<usize>,
    ) {
        if self.nodes.borrow()[*element].parent.is_some() {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {}

    fn get_template_contents(&self, target: &usize) -> usize {
        match &self.nodes.borrow()[*target].data {
            Data::Element {
                template: Some(contents),
                ..
            } => *contents,
            _ => panic!("not a template"),
        }
    }

    fn same_node(&self, x: &usize, y: &usize) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &usize, child: NodeOrText<usize>) {
        let parent = self.nodes.borrow()[*sibling]
            .parent
            .expect("a sibling has a parent");
        let child = match child {
            NodeOrText::AppendNode(node) => {
                self.detach(node);
                node
            }
            NodeOrText::AppendText(text) => {
                let before = {
                    let nodes = self.nodes.borrow();
                    let children = &nodes[parent].children;
                    let at = children.iter().position(|c| c == sibling).unwrap();
                    at.checked_sub(1).map(|i| children[i])
                };
                if self.extend_text(before, &text) {
                    return;
                }
                self.add(Data::Text(text.to_string()))
            }
        };
        let at = self.nodes.borrow()[parent]
            .children
            .iter()
            .position(|c| c == sibling)
            .unwrap();
        self.attach(parent, child, Some(at));
    }

    fn add_attrs_if_missing(&self, target: &usize, attrs: Vec<Attribute>) {
        let mut nodes = self.nodes.borrow_mut();
        let Data::Element { attributes, .. } = &mut nodes[*target].data else {
            panic!("not an element");
        };
        for attr in attrs {
            if !attributes.iter().any(|a| a.name == attr.name) {
                attributes.push(attr);
            }
        }
    }

    fn remove_from_parent(&self, target: &usize) {
        self.detach(*target);
    }

    fn reparent_children(&self, node: &usize, new_parent: &usize) {
        let mut nodes = self.nodes.borrow_mut();
        let children = std::mem::take(&mut nodes[*node].children);
        for &child in &children {
            nodes[child].parent = Some(*new_parent);
        }
        nodes[*new_parent].children.extend(children);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &usize) -> bool {
        matches!(
            self.nodes.borrow()[*handle].data,
            Data::Element {
                integration_point: true,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_a_browser_does() {
        let found = elements(
            "<p>a<b>b<i>c</p>d</i></b><table><td>x</table><svg><a xlink:href=\"#\"></a></svg>",
        );
        let names: Vec<(&str, bool)> = found
            .iter()
            .map(|e| (e.name.as_str(), e.html_namespace))
            .collect();
        assert_eq!(
            names,
            [
                ("p", true),
                ("b", true),
                ("i", true),
                // The adoption agency reopens the formatting elements.
                ("b", true),
                ("i", true),
                ("table", true),
                ("tbody", true),
                ("tr", true),
                ("td", true),
                ("svg", false),
                ("a", false),
            ]
        );
        let link = found.last().unwrap();
        assert_eq!(link.attribute("xlink:href"), Some("#"));
        assert_eq!(link.ancestors, ["svg"]);
        assert_eq!(found[8].ancestors, ["tr", "tbody", "table"]);
    }

    #[test]
    fn reads_raw_text_as_a_page_with_scripts_does() {
        // With scripting on, <noscript> holds raw text up to its end tag, so
        // the <img> is an element, not an attribute's text.
        let found = elements("<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">");
        assert!(found
            .iter()
            .any(|e| e.name == "img" && e.attribute("onerror").is_some()));
    }

    #[test]
    fn walks_template_contents() {
        let found = elements("<template><script></script></template>");
        assert_eq!(found[1].name, "script");
        assert_eq!(found[1].ancestors, ["template"]);
    }
}
