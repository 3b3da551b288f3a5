//! A post's HTML: its Markdown rendered (CommonMark with tables and
//! strikethrough) when the post is saved, then sanitized by an allowlist,
//! so what readers' browsers receive can carry no script.
//!
//! The allowlist is stated in full here rather than taken from ammonia's
//! defaults, which may grow with a new version: the tags of an article,
//! a few attributes, and URLs that are `http:`, `https:`, `mailto:` or
//! relative. Raw HTML in the Markdown is part of the rendered HTML, so it
//! passes the same allowlist. Sanitizing is ammonia's work (html5ever parses
//! the HTML as a browser would, so a tag written to confuse a simpler
//! parser is seen for what it is); nothing here inspects HTML by hand.
//!
//! Table alignment (`| :-: |`) is not kept: the Markdown writer expresses it
//! as a `style` attribute, and no element may have one.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use pulldown_cmark::{html, Parser};

use super::MARKDOWN;

/// The elements a post may contain: what the Markdown writer emits, and the
/// inline and block tags an author may reasonably write as raw HTML.
#[rustfmt::skip]
const TAGS: &[&str] = &[
    // Blocks.
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr",
    "ul", "ol", "li", "dl", "dt", "dd", "figure", "figcaption", "details", "summary",
    // Tables.
    "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
    // Inline.
    "a", "em", "strong", "del", "s", "ins", "code", "kbd", "samp", "var", "sub", "sup",
    "b", "i", "u", "mark", "small", "abbr", "cite", "q", "span", "br", "img",
];

/// Elements removed with everything inside them; any other element that
/// is not allowed is removed but its text kept. These hold code, foreign
/// markup (SVG, MathML) or controls, never text meant for a reader.
const CLEAN_CONTENT_TAGS: &[&str] = &[
    "script", "style", "template", "noscript", "iframe", "object", "noembed", "noframes", "xmp",
    "title", "textarea", "select", "svg", "math",
];

/// Attributes allowed on particular elements. `rel` on links is not among
/// them: every link gets [`LINK_REL`], whatever the author wrote.
const TAG_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href"]),
    ("img", &["src", "alt"]),
    ("ol", &["start"]),
    // `language-…` only, for a reader's syntax highlighting; see
    // `language_classes_only`.
    ("code", &["class"]),
];

/// Attributes allowed on every allowed element.
const GENERIC_ATTRIBUTES: &[&str] = &["title"];

/// The URL schemes allowed in `href` and `src`; relative URLs (`/about`,
/// `#notes`, `../x.png`) are allowed as well, as written.
const URL_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// Every link's `rel`: the linked page gets no handle on this one
/// (`noopener`), no `Referer` (`noreferrer`), and no ranking from it
/// (`nofollow`: links are written by authors, not vouched for by the site).
const LINK_REL: &str = "noopener noreferrer nofollow";

static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    // `empty` allows no tag; everything allowed is set below.
    let mut builder = Builder::empty();
    builder
        .tags(TAGS.iter().copied().collect())
        .clean_content_tags(CLEAN_CONTENT_TAGS.iter().copied().collect())
        .tag_attributes(
            TAG_ATTRIBUTES
                .iter()
                .map(|&(tag, attributes)| (tag, attributes.iter().copied().collect()))
                .collect(),
        )
        .generic_attributes(GENERIC_ATTRIBUTES.iter().copied().collect())
        .generic_attribute_prefixes(HashSet::new())
        .tag_attribute_values(HashMap::new())
        .set_tag_attribute_values(HashMap::new())
        .allowed_classes(HashMap::new())
        .url_schemes(URL_SCHEMES.iter().copied().collect())
        .url_relative(UrlRelative::PassThrough)
        .link_rel(Some(LINK_REL))
        .strip_comments(true)
        .id_prefix(None)
        .attribute_filter(language_classes_only);
    builder
});

/// Renders a post's Markdown body to sanitized HTML.
pub fn render(markdown: &str) -> String {
    let mut unsafe_html = String::with_capacity(markdown.len() + markdown.len() / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, MARKDOWN));
    SANITIZER.clean(&unsafe_html).to_string()
}

/// Keeps, of a `<code>`'s classes, the `language-…` ones the Markdown
/// writer gives a fenced block (`language-rust`), so that a reader's page
/// can highlight it; a class that could restyle the page is dropped, and
/// the attribute with it when none is left. Every other attribute passes
/// unchanged (the allowlist has already chosen them).
fn language_classes_only<'u>(
    element: &str,
    attribute: &str,
    value: &'u str,
) -> Option<Cow<'u, str>> {
    if (element, attribute) != ("code", "class") {
        return Some(Cow::Borrowed(value));
    }
    let languages: Vec<&str> = value
        .split_ascii_whitespace()
        .filter(|class| {
            class.strip_prefix("language-").is_some_and(|name| {
                !name.is_empty()
                    && name.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'#' | b'.')
                    })
            })
        })
        .collect();
    if languages.is_empty() {
        None
    } else {
        Some(Cow::Owned(languages.join(" ")))
    }
}

#[cfg(test)]
mod tests {
    use super::super::html_tree::{elements, Element};
    use super::*;

    /// Elements the contract forbids, and others that run code, load a
    /// document or take input.
    const FORBIDDEN: &[&str] = &[
        "script", "style", "iframe", "object", "embed", "form", "input", "svg", "math", "base",
        "meta", "link", "frame", "frameset", "applet", "template", "noscript", "textarea",
        "button", "select", "option", "video", "audio", "source", "isindex", "portal",
    ];

    /// Attributes whose value a browser loads or navigates to.
    const URL_ATTRIBUTES: &[&str] = &[
        "href",
        "src",
        "action",
        "formaction",
        "xlink:href",
        "data",
        "poster",
        "background",
        "cite",
        "codebase",
        "longdesc",
        "lowsrc",
        "dynsrc",
        "ping",
        "manifest",
        "icon",
        "usemap",
        "srcset",
    ];

    /// Whether a browser would read `value` as a relative URL or one with an
    /// allowed scheme. As its URL parser does: leading and trailing C0
    /// controls and spaces are ignored, tabs and newlines anywhere are
    /// removed, and a scheme is an ASCII letter and then letters, digits,
    /// `+`, `-` or `.`, up to a `:`; anything else is relative.
    fn safe_url(value: &str) -> bool {
        let url: String = value
            .trim_matches(|c: char| c <= ' ')
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        let scheme_len = url
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            .count();
        let has_scheme = url.starts_with(|c: char| c.is_ascii_alphabetic())
            && url[scheme_len..].starts_with(':');
        !has_scheme || URL_SCHEMES.contains(&url[..scheme_len].to_ascii_lowercase().as_str())
    }

    /// Every way `html`, as a browser parses it, breaks the contract's
    /// rules: a forbidden or foreign (SVG, MathML) element, an event handler
    /// or `style` attribute, a URL of another scheme, a link without the
    /// `rel` that every link gets.
    fn attacks(html: &str) -> Vec<String> {
        let mut found = Vec::new();
        for element in elements(html) {
            let name = &element.name;
            if FORBIDDEN.contains(&name.as_str()) {
                found.push(format!("a <{name}> element"));
            }
            if !element.html_namespace {
                found.push(format!("a foreign <{name}> element"));
            }
            for (attribute, value) in &element.attributes {
                let lower = attribute.to_ascii_lowercase();
                if lower.starts_with("on") {
                    found.push(format!("<{name} {attribute}>"));
                }
                if lower == "style" {
                    found.push(format!("<{name} style>"));
                }
                let urls: Vec<&str> = if lower == "srcset" {
                    value
                        .split(',')
                        .filter_map(|c| c.split_whitespace().next())
                        .collect()
                } else if URL_ATTRIBUTES.contains(&lower.as_str()) {
                    vec![value.as_str()]
                } else {
                    vec![]
                };
                for url in urls {
                    if !safe_url(url) {
                        found.push(format!("<{name} {attribute}={value:?}>"));
                    }
                }
            }
            if name == "a" && element.attribute("href").is_some() {
                let rel = element.attribute("rel").unwrap_or("");
                let tokens: Vec<&str> = rel.split_ascii_whitespace().collect();
                if !["noopener", "noreferrer", "nofollow"]
                    .iter()
                    .all(|t| tokens.contains(t))
                {
                    found.push(format!("<a href> with rel={rel:?}"));
                }
            }
        }
        found
    }

    /// Every element or attribute in `html` that the allowlist does not
    /// name: a check that the sanitizer applies the allowlist given to it.
    fn unlisted(html: &str) -> Vec<String> {
        let mut found = Vec::new();
        for element in elements(html) {
            let name = element.name.as_str();
            if !TAGS.contains(&name) {
                found.push(format!("<{name}>"));
            }
            let own: &[&str] = TAG_ATTRIBUTES
                .iter()
                .find(|&&(tag, _)| tag == name)
                .map_or(&[], |&(_, attributes)| attributes);
            for (attribute, _) in &element.attributes {
                let a = attribute.as_str();
                let link_rel = name == "a" && a == "rel";
                if !own.contains(&a) && !GENERIC_ATTRIBUTES.contains(&a) && !link_rel {
                    found.push(format!("<{name} {a}>"));
                }
            }
        }
        found
    }

    /// The corpus: one vector a line; `⏎` stands for a newline and `⇥` for
    /// a tab; lines starting with `%` are comments.
    fn corpus() -> Vec<String> {
        include_str!("xss_corpus.txt")
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('%'))
            .map(|line| line.replace('⏎', "\n").replace('⇥', "\t"))
            .collect()
    }

    fn unsanitized(markdown: &str) -> String {
        let mut html = String::new();
        html::push_html(&mut html, Parser::new_ext(markdown, MARKDOWN));
        html
    }

    #[test]
    fn no_vector_survives_rendering() {
        let corpus = corpus();
        assert!(corpus.len() >= 40, "only {} vectors", corpus.len());
        let mut failures = Vec::new();
        for vector in &corpus {
            let rendered = render(vector);
            let problems = [attacks(&rendered), unlisted(&rendered)].concat();
            if !problems.is_empty() {
                failures.push(format!(
                    "{vector:?}\n  rendered {rendered:?}\n  {problems:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// The corpus holds attacks, and the checks above see them: each
    /// vector, rendered without the sanitizer, breaks a rule.
    #[test]
    fn every_vector_is_an_attack_without_the_sanitizer() {
        let harmless: Vec<String> = corpus()
            .into_iter()
            .filter(|vector| attacks(&unsanitized(vector)).is_empty())
            .map(|vector| format!("{vector:?} gives {:?}", unsanitized(&vector)))
            .collect();
        assert!(harmless.is_empty(), "not attacks:\n{}", harmless.join("\n"));
    }

    fn find<'a>(elements: &'a [Element], name: &str) -> &'a Element {
        elements
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no <{name}> in {elements:#?}"))
    }

    #[test]
    fn renders_an_ordinary_article() {
        let markdown = "\
# Title

Intro with *emphasis*, **strong**, ~~struck~~ and `code`.

## Lists

- one
- two

1. first
2. second

> A quote.

| Name | Size |
|:-----|-----:|
| a    | 1    |

```rust
fn main() {}
```

A [link](https://example.com/page \"Page\"), a [relative one](/blog/other),
mail to [us](mailto:team@example.com), and ![a diagram](/img/d.png \"Diagram\").

---

Line one  
line two <sup>raw</sup> and <abbr title=\"HyperText\">HTML</abbr>.
";
        let html = render(markdown);
        assert!(attacks(&html).is_empty(), "{html}");
        assert!(unlisted(&html).is_empty(), "{html}");
        let tree = elements(&html);
        let names: Vec<&str> = tree.iter().map(|e| e.name.as_str()).collect();
        for expected in [
            "h1",
            "h2",
            "p",
            "em",
            "strong",
            "del",
            "code",
            "ul",
            "ol",
            "li",
            "blockquote",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "pre",
            "a",
            "img",
            "hr",
            "br",
            "sup",
            "abbr",
        ] {
            assert!(names.contains(&expected), "no <{expected}> in {html}");
        }
        let li_parents: Vec<&str> = tree
            .iter()
            .filter(|e| e.name == "li")
            .map(|e| e.ancestors[0].as_str())
            .collect();
        assert_eq!(li_parents, ["ul", "ul", "ol", "ol"]);
        assert_eq!(find(&tree, "th").ancestors[..3], ["tr", "thead", "table"]);
        assert_eq!(find(&tree, "td").ancestors[..3], ["tr", "tbody", "table"]);
        // Alignment would be a style attribute: dropped.
        assert!(find(&tree, "th").attributes.is_empty());
        let block = tree
            .iter()
            .find(|e| e.name == "code" && e.ancestors[0] == "pre")
            .unwrap();
        assert_eq!(block.attribute("class"), Some("language-rust"));

        let links: Vec<&Element> = tree.iter().filter(|e| e.name == "a").collect();
        let hrefs: Vec<&str> = links.iter().filter_map(|a| a.attribute("href")).collect();
        assert_eq!(
            hrefs,
            [
                "https://example.com/page",
                "/blog/other",
                "mailto:team@example.com"
            ]
        );
        assert_eq!(links[0].attribute("title"), Some("Page"));
        for link in &links {
            assert_eq!(link.attribute("rel"), Some(LINK_REL));
        }
        let img = find(&tree, "img");
        assert_eq!(img.attribute("src"), Some("/img/d.png"));
        assert_eq!(img.attribute("alt"), Some("a diagram"));
        assert_eq!(img.attribute("title"), Some("Diagram"));
        assert_eq!(find(&tree, "abbr").attribute("title"), Some("HyperText"));
    }

    #[test]
    fn keeps_the_text_of_removed_elements_only_when_it_is_prose() {
        assert_eq!(render("<div>kept</div>"), "kept");
        assert_eq!(render("<form>kept</form>"), "kept");
        assert_eq!(render("a <script>gone()</script> b"), "<p>a  b</p>\n");
        assert_eq!(render("<svg><text>gone</text></svg>"), "<p></p>\n");
    }

    #[test]
    fn keeps_only_language_classes_on_code() {
        assert_eq!(
            render("<code class=\"language-rust evil\">x</code>"),
            "<p><code class=\"language-rust\">x</code></p>\n"
        );
        assert_eq!(
            render("<code class=\"evil\">x</code>"),
            "<p><code>x</code></p>\n"
        );
        assert_eq!(render("<p class=\"language-rust\">x</p>"), "<p>x</p>");
        assert_eq!(
            render("```c++\nx\n```"),
            "<pre><code class=\"language-c++\">x\n</code></pre>\n"
        );
    }

    #[test]
    fn escapes_text() {
        let html = render("a < b & `<script>`");
        assert_eq!(html, "<p>a &lt; b &amp; <code>&lt;script&gt;</code></p>\n");
    }

    #[test]
    fn the_url_check_reads_urls_as_a_browser_does() {
        for safe in [
            "https://x.example",
            "HTTP://x",
            "mailto:a@b",
            "/a:b",
            "#x",
            "?q=a:b",
            "",
            "x",
            "`javascript:x`",
            "1javascript:x",
            "java%0ascript:x",
        ] {
            assert!(safe_url(safe), "{safe:?}");
        }
        for bad in [
            "javascript:x",
            " JavaScript:x",
            "java\tscript:x",
            "java\nscript:x",
            "\u{1}javascript:x",
            "data:text/html,x",
            "vbscript:x",
            "x-y.z+w:x",
        ] {
            assert!(!safe_url(bad), "{bad:?}");
        }
    }
}
