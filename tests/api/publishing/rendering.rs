//! What a body may cost to render, over HTTP: a body whose block quotes and
//! lists nest deeper than 100 levels is `422` on `body`, and the inputs that
//! make Markdown and HTML parsers slow (CommonMark's pathological cases,
//! and HTML's own), at the largest size, each save or are refused the same
//! way. Their time is the benchmark's to show ("Pathological Markdown" in
//! bench/README.md), never a timed test's: here, each is answered.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::authors::*;
use crate::support::assert_invalid_field_in;

const MAX_BYTES: usize = 200_000;
const TOO_DEEP: &str = "must not nest block quotes and lists more than 100 levels deep";

/// `unit` repeated as often as fits in `size` bytes.
fn fill(unit: &str, size: usize) -> String {
    unit.repeat(size / unit.len())
}

/// `open` and `close` repeated as often as fit around `middle`.
fn around(open: &str, middle: &str, close: &str, size: usize) -> String {
    let times = (size - middle.len()) / (open.len() + close.len());
    format!("{}{middle}{}", open.repeat(times), close.repeat(times))
}

/// Lines made by `line(i)` for i = 0, 1, … as long as they fit.
fn lines(size: usize, line: impl Fn(usize) -> String) -> String {
    let mut text = String::new();
    for i in 0.. {
        let next = line(i);
        if text.len() + next.len() > size {
            break;
        }
        text.push_str(&next);
    }
    text
}

/// Each pathological body of about `size` bytes, with whether it saves.
/// CommonMark's cases (cmark's test/pathological_tests.py) scaled to the
/// size, then tables and HTML that outgrow it or nest deep.
fn pathological(size: usize) -> Vec<(&'static str, String, bool)> {
    let saves = true;
    vec![
        (
            "plain prose",
            fill(
                "A paragraph of prose, with *emphasis* and a [link](https://example.com).\n\n",
                size,
            ),
            saves,
        ),
        (
            "nested strong emphasis",
            around("*a **a ", "b", " a** a*", size),
            !saves,
        ),
        ("emphasis closers without openers", fill("a_ ", size), saves),
        ("emphasis openers without closers", fill("_a ", size), saves),
        ("link closers without openers", fill("a]", size), saves),
        ("link openers without closers", fill("[a", size), saves),
        ("mismatched openers and closers", fill("*a_ ", size), saves),
        (
            "openers and closers, a multiple of 3",
            format!("a**b{}", fill("c* ", size - 4)),
            saves,
        ),
        (
            "link openers and emphasis closers",
            fill("[ a_", size),
            saves,
        ),
        ("the pattern [ (]( repeated", fill("[ (](", size), saves),
        ("the pattern ![[]() repeated", fill("![[]()", size), saves),
        ("nested brackets", around("[", "a", "]", size), saves),
        (
            "nested block quotes",
            format!("{}a", fill("> ", size - 1)),
            !saves,
        ),
        (
            "deeply nested lists",
            lines(size, |i| format!("{}* a\n", "  ".repeat(i))),
            !saves,
        ),
        (
            "backticks",
            lines(size, |i| format!("e{}", "`".repeat(i + 1))),
            saves,
        ),
        ("unclosed links <", fill("[a](<b", size), saves),
        ("unclosed links", fill("[a](b", size), saves),
        (
            "unclosed comments",
            format!("</{}", fill("<!--", size - 2)),
            saves,
        ),
        // \r, \n and \v escaped in JSON take 20 bytes for these 12: as many
        // as fit in a post's 256 KiB request.
        (
            "table rows that are one cell",
            fill("aaa\rbbb\n-\x0b\n", size.min(150_000)),
            saves,
        ),
        (
            "many references",
            {
                let definitions = lines(size / 2, |i| format!("[{}]: u\n", i + 1));
                let rest = size - definitions.len();
                definitions + &fill("[0] ", rest)
            },
            saves,
        ),
        (
            "short table rows under a wide header",
            fill(
                &format!(
                    "{}|\n{}|\n{}\n",
                    "|a".repeat(300),
                    "|-".repeat(300),
                    "a\n".repeat(800)
                ),
                size,
            ),
            !saves,
        ),
        ("nested HTML", fill("<div>", size), !saves),
        ("nested HTML lists", fill("<ul><li>", size), !saves),
        (
            "formatting tags left open and reopened",
            {
                let opened: String = (0..200).map(|i| format!("<b id={i}>")).collect();
                format!("<p>{opened}{}", fill("</p><p>x", size - opened.len() - 3))
            },
            !saves,
        ),
    ]
}

backend_test! {
async fn a_body_nested_deeper_than_100_levels_is_422_on_body_and_saves_nothing() {
    let (app, author) = spawn_app_and_author().await;
    let id = new_post(&app, &author, "Title", "Text").await;
    let stored = preview(&app, &author, id).await;
    let indented = |levels: usize| -> String {
        (0..levels).map(|level| format!("{}- level {level}\n", "  ".repeat(level))).collect()
    };
    let deep = [
        ("101 block quotes", format!("{}deep\n", "> ".repeat(101))),
        ("101 lists", format!("{}deep\n", "- ".repeat(101))),
        ("101 ordered lists", format!("{}deep\n", "1. ".repeat(101))),
        ("block quotes and lists, 101 together", format!("{}> deep\n", "> - ".repeat(50))),
        ("a list indented 101 deep", indented(101)),
        ("block quotes filling 200,000 bytes", format!("{}a", fill("> ", MAX_BYTES - 1))),
    ];

    for (case, body) in &deep {
        let response = app.create_post(&author, &json!({"title": "Deep", "body": body})).await;
        let answer = assert_invalid_field_in(case, response, "body").await;
        assert_eq!(answer["fields"]["body"], TOO_DEEP, "{case}");
        let response = app.edit_post(&author, id, &json!({"body": body})).await;
        let answer = assert_invalid_field_in(case, response, "body").await;
        assert_eq!(answer["fields"]["body"], TOO_DEEP, "{case}");
    }

    assert_eq!(preview(&app, &author, id).await, stored);
    assert_eq!(posts_of(&app, &author, "").await["total"], 1);
    // A hundred levels is allowed, and rendered.
    for body in [format!("{}deep\n", "> - ".repeat(50)), indented(100)] {
        let post = create(&app, &author, json!({"title": "Deep enough", "body": body})).await;
        let html = post["html"].as_str().expect("html");
        let levels = html.matches("<blockquote>").count() + html.matches("<ul>").count();
        assert_eq!(levels, 100, "{html}");
    }
}
}

backend_test! {
async fn pathological_bodies_of_the_largest_size_save_or_are_refused_on_body() {
    let (app, author) = spawn_app_and_author().await;
    let mut saved = 0;

    for (kind, body, saves) in pathological(MAX_BYTES) {
        assert!(body.len() <= MAX_BYTES, "{kind}: {} bytes", body.len());
        assert!(body.len() > MAX_BYTES * 7 / 10, "{kind}: {} bytes", body.len());

        let response = app.create_post(&author, &json!({"title": kind, "body": body})).await;

        if saves {
            let post: Value = body_of(response, StatusCode::CREATED).await;
            assert_eq!(post["body"].as_str(), Some(body.as_str()), "{kind}");
            assert!(!post["html"].as_str().unwrap_or_default().is_empty(), "{kind}");
            saved += 1;
        } else {
            let answer = assert_invalid_field_in(kind, response, "body").await;
            assert!(answer["fields"]["body"].as_str().is_some_and(|why| why.starts_with("must not")), "{kind}: {answer}");
        }
    }

    assert_eq!(posts_of(&app, &author, "").await["total"], saved);
}
}
