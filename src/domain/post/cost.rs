//! What a body may cost to render: time in proportion to its size, never
//! more, whatever an author (or whoever holds an author's session) writes.
//!
//! Rendering runs two parsers. pulldown-cmark reads the Markdown in linear
//! time, but the HTML it writes can outgrow the Markdown: a table row that
//! leaves out cells is filled with empty ones, up to 262,144 a table, so
//! a few kilobytes of narrow rows under a wide header become megabytes.
//! html5ever, inside the sanitizer, then builds a tree from that HTML, and
//! its tree builder looks through every open element for some of the tags
//! it meets and reopens every formatting element left open at each new
//! block: nesting (`> ` repeated 100,000 times, 200 KB, would take 15 s
//! to save; raw `<div>`s or `<ul><li>`s as long) and formatting tags left
//! open (`<b id=…>` two hundred times, then `</p><p>x` repeated) cost time
//! in the square of the size, and the second a tree of that size too.
//!
//! So a body is held to four bounds before it is stored, each far beyond
//! what any article comes near, each measured in one pass that stops at
//! the first one crossed:
//! - its block quotes and lists nest at most [`MAX_NESTING`] levels, the
//!   contract's own rule;
//! - the HTML written from it is at most [`HTML_PER_BYTE`] bytes per byte
//!   of Markdown (and [`HTML_SLACK`] more, for a short body with a table);
//! - html5ever, parsing that HTML as the sanitizer does, is never found
//!   holding more than [`MAX_OPEN_ELEMENTS`] elements open or waiting to
//!   be reopened (it is looked at every kilobyte), which bounds each tag's
//!   work;
//! - nor builds more than [`ELEMENTS_PER_BYTE`] elements per byte of
//!   Markdown (and [`ELEMENT_SLACK`] more).
//!
//! Within them, every step of either parser is bounded by a constant: the
//! heaviest body of the largest size they let through (tables of three
//! columns whose every row writes one cell) saves in about a second on one
//! core, an article of that size in a few hundredths (bench/README.md,
//! "Pathological Markdown").

use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};
use std::fmt;

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, Tracer, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{local_name, ns, parse_fragment, Attribute, ParseOpts, QualName};
use pulldown_cmark::{html, Event, Parser, Tag, TagEnd};

use super::MARKDOWN;

/// The deepest block quotes and lists may nest, counted together
/// (`> - > a` is three levels). No article needs more than a handful.
pub const MAX_NESTING: usize = 100;

/// The most HTML a byte of Markdown may become. Real articles write one to
/// three bytes; a centered table of one-character cells 17 (the sanitizer
/// drops the `style` after); a `>` alone, opening and closing a block
/// quote, 27.
pub const HTML_PER_BYTE: usize = 32;

/// HTML allowed beyond [`HTML_PER_BYTE`]: a short body with a table of
/// many empty cells is no threat, however large its ratio.
pub const HTML_SLACK: usize = 64 * 1024;

/// The most elements html5ever may hold open (and waiting to be reopened)
/// at once. Markdown nested [`MAX_NESTING`] levels opens about 200;
/// Chromium's HTML parser nests no deeper than 512 either.
pub const MAX_OPEN_ELEMENTS: usize = 512;

/// The most elements html5ever may build per byte of Markdown. A byte
/// makes at most one in any real text (a `>`, a table's `|`); a table's
/// filled cells and reopened formatting elements are made from nothing.
pub const ELEMENTS_PER_BYTE: usize = 2;

/// Elements allowed beyond [`ELEMENTS_PER_BYTE`].
pub const ELEMENT_SLACK: usize = 4096;

/// How much HTML html5ever reads between two looks at how far it has got.
/// Within a chunk the open elements can grow by a few hundred more (a tag
/// is at least 3 bytes) before the look that stops them, so each tag's
/// work stays bounded by a constant still.
const CHUNK: usize = 1024;

/// Checks `markdown` against every bound, or says in a sentence fragment
/// which it crosses.
pub fn check(markdown: &str) -> Result<(), String> {
    let max_elements = ELEMENTS_PER_BYTE * markdown.len() + ELEMENT_SLACK;
    if table_cells_at_most(markdown) > max_elements {
        return Err(too_many_elements());
    }
    let html = html_within_bounds(markdown)?;
    tree_within_bounds(&html, max_elements)
}

/// At least as many table cells as pulldown-cmark would make of
/// `markdown`, the empty ones it fills in included, counted without it.
///
/// pulldown-cmark builds the tree of a whole document before it hands out
/// a first event, filled cells and all (up to 262,144 a table), so a
/// table's rows must be counted before it runs: 200 KB of narrow rows
/// under wide headers would have it build millions of cells. Each row is
/// one line and has as many cells as its table's header, so a line has at
/// most as many as the widest delimiter row (`|---|:-:|`) above it since
/// the last blank line, which ends every table. Any line that could be a
/// delimiter row counts as one: block quote markers and indentation are
/// left out, and its columns are its `|`s and one. A line ends at `\n`,
/// `\r` or `\r\n`, as in CommonMark.
fn table_cells_at_most(markdown: &str) -> usize {
    let mut cells = 0usize;
    let mut widest = 0usize;
    let mut rest = markdown.as_bytes();
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(rest.len());
        let line = &rest[..end];
        let ending = if rest[end..].starts_with(b"\r\n") {
            2
        } else if end < rest.len() {
            1
        } else {
            0
        };
        rest = &rest[end + ending..];
        if line.iter().all(|&b| b == b' ' || b == b'\t') {
            widest = 0;
            continue;
        }
        let content = match line.iter().position(|&b| !matches!(b, b'>' | b' ' | b'\t')) {
            Some(start) => &line[start..],
            None => &[],
        };
        let delimiter = content.contains(&b'|')
            && content.contains(&b'-')
            && content
                .iter()
                .all(|&b| matches!(b, b'|' | b'-' | b':' | b' ' | b'\t'));
        if delimiter {
            // Cells between pipes, the outer pipes being optional.
            let content = content.trim_ascii_end();
            let pipes = content.iter().filter(|&&b| b == b'|').count();
            let columns = pipes + 1
                - usize::from(content.starts_with(b"|"))
                - usize::from(pipes > 1 && content.ends_with(b"|"));
            if columns > widest {
                widest = columns;
                // Its header's cells, on the line above.
                cells = cells.saturating_add(columns);
            }
        }
        cells = cells.saturating_add(widest);
    }
    cells
}

/// The HTML the renderer writes from `markdown` (unsanitized), unless its
/// block quotes and lists nest too deep or it grows too large.
fn html_within_bounds(markdown: &str) -> Result<String, String> {
    let depth = Cell::new(0usize);
    let too_deep = Cell::new(false);
    // The renderer's parser and options, so that what is counted is what
    // is rendered (a `>` in a code block is no block quote).
    let events = Parser::new_ext(markdown, MARKDOWN).map_while(|event| {
        match &event {
            Event::Start(Tag::BlockQuote(_) | Tag::List(_)) => {
                depth.set(depth.get() + 1);
                if depth.get() > MAX_NESTING {
                    too_deep.set(true);
                    return None;
                }
            }
            Event::End(TagEnd::BlockQuote(_) | TagEnd::List(_)) => depth.set(depth.get() - 1),
            _ => {}
        }
        Some(event)
    });
    let mut html = Capped {
        html: String::with_capacity(markdown.len() + markdown.len() / 2),
        cap: HTML_PER_BYTE * markdown.len() + HTML_SLACK,
    };
    let written = html::write_html_fmt(&mut html, events);
    if too_deep.get() {
        return Err(format!(
            "must not nest block quotes and lists more than {MAX_NESTING} levels deep"
        ));
    }
    if written.is_err() {
        return Err(format!(
            "must not render to more than {HTML_PER_BYTE} bytes of HTML per byte \
             (a table's short rows are filled with empty cells)"
        ));
    }
    Ok(html.html)
}

/// A writer that refuses to grow past `cap` bytes.
struct Capped {
    html: String,
    cap: usize,
}

impl fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.html.len() + s.len() > self.cap {
            return Err(fmt::Error);
        }
        self.html.push_str(s);
        Ok(())
    }
}

/// Parses `html` as the sanitizer does (ammonia's parser: a fragment in a
/// `<div>`, scripting off), into a sink that keeps no tree, only what the
/// bounds need, a chunk at a time: after each, the elements built so far
/// and html5ever's own open elements and formatting list are looked at.
fn tree_within_bounds(html: &str, max_elements: usize) -> Result<(), String> {
    let context = QualName::new(None, ns!(html), local_name!("div"));
    let mut parser = parse_fragment(Census::new(), ParseOpts::default(), context, vec![], false);
    let mut rest = html;
    while !rest.is_empty() {
        let mut end = CHUNK.min(rest.len());
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (chunk, after) = rest.split_at(end);
        parser.process(StrTendril::from_slice(chunk));
        rest = after;
        let builder = &parser.tokenizer.sink;
        if builder.sink.elements.get() > max_elements {
            return Err(too_many_elements());
        }
        let open = Tally::default();
        builder.trace_handles(&open);
        if open.0.get() > MAX_OPEN_ELEMENTS {
            return Err(format!(
                "must not nest HTML elements more than {MAX_OPEN_ELEMENTS} deep \
                 (emphasis and formatting tags left open count)"
            ));
        }
    }
    let census = parser.finish();
    if census.elements.get() > max_elements {
        return Err(too_many_elements());
    }
    Ok(())
}

fn too_many_elements() -> String {
    format!(
        "must not make more than {ELEMENTS_PER_BYTE} HTML elements per byte \
         (a table's short rows are filled with empty cells, and formatting tags \
         left open are opened again in every block after them)"
    )
}

/// Counts the handles html5ever's tree builder holds: the document, its
/// open elements, its list of formatting elements, and a few more.
#[derive(Default)]
struct Tally(Cell<usize>);

impl Tracer for Tally {
    type Handle = usize;

    fn trace_handle(&self, _node: &usize) {
        self.0.set(self.0.get() + 1);
    }
}

/// What html5ever's tree builder needs of a tree, and no tree: each node's
/// name (the builder asks an element's), and a count of elements built.
struct Census {
    nodes: RefCell<Vec<Node>>,
    elements: Cell<usize>,
}

struct Node {
    /// `None` for the document, a template's content, a comment.
    name: Option<QualName>,
    template: Option<usize>,
    integration_point: bool,
}

const DOCUMENT: usize = 0;

impl Census {
    fn new() -> Census {
        let census = Census {
            nodes: RefCell::new(Vec::new()),
            elements: Cell::new(0),
        };
        census.add(None);
        census
    }

    fn add(&self, name: Option<QualName>) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node {
            name,
            template: None,
            integration_point: false,
        });
        nodes.len() - 1
    }
}

impl TreeSink for Census {
    type Handle = usize;
    type Output = Census;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Census {
        self
    }

    fn parse_error(&self, _message: Cow<'static, str>) {}

    fn get_document(&self) -> usize {
        DOCUMENT
    }

    fn elem_name<'a>(&'a self, target: &'a usize) -> Ref<'a, QualName> {
        Ref::map(self.nodes.borrow(), |nodes| {
            nodes[*target]
                .name
                .as_ref()
                .expect("html5ever asks only an element's name")
        })
    }

    fn create_element(&self, name: QualName, _attrs: Vec<Attribute>, flags: ElementFlags) -> usize {
        self.elements.set(self.elements.get() + 1);
        let template = flags.template.then(|| self.add(None));
        let element = self.add(Some(name));
        let mut nodes = self.nodes.borrow_mut();
        nodes[element].template = template;
        nodes[element].integration_point = flags.mathml_annotation_xml_integration_point;
        element
    }

    fn create_comment(&self, _text: StrTendril) -> usize {
        self.add(None)
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
        self.add(None)
    }

    fn append(&self, _parent: &usize, _child: NodeOrText<usize>) {}

    fn append_based_on_parent_node(
        &self,
        _element: &usize,
        _prev_element: &usize,
        _child: NodeOrText<usize>,
    ) {
    }

    fn append_doctype_to_document(
        &self,
        _name: StrTendril,
        _public_id: StrTendril,
        _system_id: StrTendril,
    ) {
    }

    fn get_template_contents(&self, target: &usize) -> usize {
        self.nodes.borrow()[*target]
            .template
            .expect("html5ever asks only a template's content")
    }

    fn same_node(&self, x: &usize, y: &usize) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, _sibling: &usize, _new_node: NodeOrText<usize>) {}

    fn add_attrs_if_missing(&self, _target: &usize, _attrs: Vec<Attribute>) {}

    fn remove_from_parent(&self, _target: &usize) {}

    fn reparent_children(&self, _node: &usize, _new_parent: &usize) {}

    fn is_mathml_annotation_xml_integration_point(&self, handle: &usize) -> bool {
        self.nodes.borrow()[*handle].integration_point
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_article_is_within_every_bound() {
        let article = "# A title\n\nA paragraph with *emphasis*, **strong**, `code`, \
                       [a link](https://example.com) and <b>raw</b> <i>HTML</i>.\n\n\
                       > A quote\n> - with a list\n>   1. nested\n\n\
                       | a | b |\n|---|---|\n| 1 | 2 |\n\n```rust\nfn main() {}\n```\n\n";
        assert_eq!(check(""), Ok(()));
        assert_eq!(check(&article.repeat(1_000)), Ok(()));
    }

    #[test]
    fn the_densest_real_shapes_fill_the_largest_body() {
        // A centered table of one-character cells: 17 bytes of HTML per
        // byte (its alignment is a `style` the sanitizer drops after).
        let row = format!("{}|\n", "|a".repeat(10));
        let centered = format!("{row}{}|\n{}", "|:-:".repeat(10), row.repeat(9_000));
        assert!(centered.len() <= 200_000);
        assert_eq!(check(&centered), Ok(()));
        // A sparse table (20 columns, two written in each of 300 rows) in
        // a short article.
        let sparse = format!(
            "{}\n\n{}|\n{}|\n{}",
            "Some prose. ".repeat(300),
            "|h".repeat(20),
            "|-".repeat(20),
            "|a|b|\n".repeat(300)
        );
        assert_eq!(check(&sparse), Ok(()));
        // A hundred levels of lists, each item with a line of text.
        let deep: String = (0..MAX_NESTING)
            .map(|level| format!("{}- item {level}, *with* `code`\n", "  ".repeat(level)))
            .collect();
        assert_eq!(check(&deep), Ok(()));
    }

    #[test]
    fn table_cells_are_counted_before_pulldown_cmark_runs() {
        // 3 header cells, the delimiter row, 2 rows of 3.
        assert!(table_cells_at_most("|a|b|c|\n|-|-|-|\n|1|2|3|\n|4|\n") >= 12);
        // In a block quote, with `\r` and `\r\n` line endings.
        assert!(table_cells_at_most("> a|b\r> -|-\r\n> 1\r> 2\n") >= 8);
        // A blank line ends a table; cells that are `-` are no new table.
        let counted = table_cells_at_most("|a|b|\n|-|-|\n| - | - |\n| - | - |\n\nprose\n");
        assert_eq!(counted, 8);
        // No table, no cells.
        assert_eq!(
            table_cells_at_most("prose | with a pipe\n- a list\n---\n"),
            0
        );
        // At least what pulldown-cmark makes, whatever the shape.
        for markdown in [
            "|a|b|c|\n|-|-|-|\na\n\n|a|\n|-|\n|1|2|3|\n",
            "> |a|b|\n> |:-|-:|\n> x\n>\n> |a|\n> |-|\n",
            "- |a|b|\n  |-|-|\n  x\n- y\n",
            "a|b|c\r-|-|-\rx\r\ny\n",
        ] {
            let made = Parser::new_ext(markdown, MARKDOWN)
                .filter(|e| matches!(e, Event::Start(Tag::TableCell)))
                .count();
            assert!(
                table_cells_at_most(markdown) >= made,
                "{markdown:?}: {made}"
            );
            assert!(made > 0, "{markdown:?}");
        }
    }

    #[test]
    fn tables_with_short_rows_under_a_wide_header_are_refused() {
        // 300 columns and rows of one cell each: 900 cells filled in for
        // every 3 bytes.
        let table = format!(
            "{}|\n{}|\n{}\n",
            "|a".repeat(300),
            "|-".repeat(300),
            "a\n".repeat(800)
        );
        let tables = table.repeat(10);
        let refused = check(&tables).unwrap_err();
        assert!(refused.contains("HTML elements per byte"), "{refused}");
        // Counted before pulldown-cmark builds them: its own writing would
        // be refused too.
        let written = html_within_bounds(&tables).unwrap_err();
        assert!(written.contains("bytes of HTML per byte"), "{written}");
        // The same table with its rows whole renders.
        let whole = format!(
            "{}|\n{}|\n{}",
            "|a".repeat(30),
            "|-".repeat(30),
            format!("{}|\n", "|a".repeat(30)).repeat(100)
        );
        assert_eq!(check(&whole), Ok(()));
    }

    #[test]
    fn deep_raw_html_is_refused() {
        for tag in ["<div>", "<span>", "<ul><li>", "<blockquote>", "<em>"] {
            let refused = check(&tag.repeat(2 * MAX_OPEN_ELEMENTS));
            assert!(
                refused
                    .as_ref()
                    .is_err_and(|r| r.contains("nest HTML elements")),
                "{tag}: {refused:?}"
            );
        }
        // As deep as Markdown is allowed to nest, in HTML: allowed.
        assert_eq!(check(&"<div>".repeat(MAX_NESTING)), Ok(()));
    }

    #[test]
    fn formatting_tags_left_open_and_reopened_are_refused() {
        let opened: String = (0..200).map(|i| format!("<b id={i}>")).collect();
        let body = format!("<p>{opened}{}", "</p><p>x".repeat(1_000));
        let refused = check(&body).unwrap_err();
        assert!(refused.contains("HTML elements per byte"), "{refused}");
    }

    #[test]
    fn nesting_is_counted_as_the_renderer_reads_it() {
        let deep = format!("{}deep\n", "> ".repeat(MAX_NESTING + 1));
        let refused = check(&deep).unwrap_err();
        assert!(refused.contains("block quotes and lists"), "{refused}");
        let fenced = format!("```\n{deep}```\n");
        assert_eq!(check(&fenced), Ok(()));
    }
}
