//! `tollgate import`: the real binary reads a folder of Markdown files on
//! the test app's database, and what it stored is checked over HTTP, as
//! readers and as the author see it.

use std::path::Path;
use std::process::Output;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::cli::tollgate_on;
use crate::support::db::{count, execute};
use crate::support::{assert_error, assert_error_in, on_postgres, spawn_app_and_user, TestApp};

/// A fresh app with the author `Alice` logged in.
async fn spawn_app_and_author() -> (TestApp, Client) {
    let (app, client) = spawn_app_and_user("Alice").await;
    execute(
        &app,
        "UPDATE users SET role = 'author' WHERE username = 'Alice'",
    );
    (app, client)
}

/// Writes `text` to `name` under `dir`, making its folders.
fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A Markdown file: front matter of `keys` (`"title: Hello"`, …), then
/// `body`.
fn markdown(keys: &[&str], body: &str) -> String {
    format!("---\n{}\n---\n{body}", keys.join("\n"))
}

/// `tollgate import paths…`, run in `dir` on the app's database.
fn import(app: &TestApp, dir: &Path, paths: &[&str]) -> Output {
    let args: Vec<&str> = std::iter::once("import")
        .chain(paths.iter().copied())
        .collect();
    tollgate_on(dir, &app.database_url, &args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Checks the run exited 0 and printed exactly `expected`, nothing on stderr.
fn assert_imported(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(output), expected);
    assert_eq!(stderr(output), "");
}

/// The JSON body of a response that must be `200`.
async fn ok(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK, "{}", response.url());
    response.json().await.expect("a JSON body")
}

/// `GET path`, which must answer `200`.
async fn read(app: &TestApp, client: &Client, path: &str) -> Value {
    ok(app.get(client, path).await).await
}

/// The caller's posts (`GET /posts`), each as listed.
async fn posts_of(app: &TestApp, client: &Client) -> Vec<Value> {
    let list = read(app, client, "/posts?per_page=100").await;
    list["posts"].as_array().expect("posts").clone()
}

/// The whole post `slug` as its editor sees it (`GET /posts/{id}`).
async fn preview(app: &TestApp, editor: &Client, slug: &str) -> Value {
    let listed = posts_of(app, editor).await;
    let post = listed
        .iter()
        .find(|post| post["slug"] == slug)
        .unwrap_or_else(|| panic!("{slug} among the editor's posts: {listed:?}"));
    read(app, editor, &format!("/posts/{}", post["id"])).await
}

/// The slugs `GET /blog` lists to `reader`.
async fn listed_slugs(app: &TestApp, reader: &Client) -> Vec<String> {
    let list = read(app, reader, "/blog?per_page=100").await;
    list["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|post| post["slug"].as_str().expect("a slug").to_owned())
        .collect()
}

/// Unix seconds as RFC 3339: `2026-11-21T10:00:00Z`.
fn rfc3339(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .expect("a time")
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn time(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().unwrap_or_else(|| panic!("a time: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// Markdown with something for the sanitizer to take out.
const BODY: &str = "Hello *world*.\n\n<script>alert(1)</script>\n\n\
                    [a link](javascript:alert(1)) and [another](https://example.com)\n";

backend_test! {
async fn imported_files_are_published_back_dated_scheduled_or_drafts_as_their_front_matter_says() {
    let (app, author) = spawn_app_and_author().await;
    let dir = tempfile::tempdir().unwrap();
    let in_an_hour = app.now() + 3_600;
    let files = [
        (
            "blog/2019/first.md",
            markdown(
                &["title: First of May", "date: 2019-05-01", "access: free", "author: alice",
                  "layout: post"],
                &format!("\n{BODY}"),
            ),
        ),
        (
            "blog/2019/second.markdown",
            markdown(
                &["title: Second", "published_at: 2019-05-02T09:30:00+02:00",
                  "access: premium", "excerpt: Chosen words."],
                "Body two.\n",
            ),
        ),
        (
            "blog/coming.md",
            markdown(
                &["title: Coming soon", &format!("date: {}", rfc3339(in_an_hour)),
                  "access: free", "author: ALICE"],
                "Soon.\n",
            ),
        ),
        (
            "blog/draft.md",
            markdown(
                &["title: Half done", "date: 2019-05-03", "draft: true", "access: free",
                  "author: alice"],
                "Not yet.\n",
            ),
        ),
        (
            "blog/undated.md",
            markdown(&["title: Undated", "slug: no-date", "access: free"], "No date.\n"),
        ),
        ("blog/notes.txt", "not a post".to_owned()),
    ];
    for (name, text) in &files {
        write(dir.path(), name, text);
    }

    let output = import(&app, dir.path(), &["blog"]);

    // In sorted order, folders and files alike, depth first.
    assert_imported(
        &output,
        "created first-of-may\ncreated second\ncreated coming-soon\ncreated half-done\n\
         created no-date\n5 created, 0 updated, 0 failed\n",
    );
    let reader = app.logged_in_client("Rita").await;
    let first = read(&app, &reader, "/blog/first-of-may").await;
    assert_eq!(first["title"], "First of May");
    assert_eq!(first["published_at"], "2019-05-01T00:00:00Z", "back-dated");
    assert_eq!(first["access"], "free");
    assert_eq!(first["author"], json!({"username": "Alice"}));
    assert_eq!(first["body"], BODY);
    let html = first["html"].as_str().unwrap();
    assert!(html.starts_with("<p>Hello <em>world</em>.</p>"), "{html}");
    assert!(!html.contains("script") && !html.contains("javascript"), "{html}");
    // Rendered, sanitized and excerpted exactly as the API does it.
    let same = app
        .create_post(&author, &json!({"title": "Same body", "body": BODY, "access": "free"}))
        .await;
    assert_eq!(same.status(), StatusCode::CREATED);
    let same: Value = same.json().await.unwrap();
    assert_eq!(first["html"], same["html"]);
    assert_eq!(first["excerpt"], same["excerpt"]);
    let listed = read(&app, &reader, "/blog?per_page=100").await;
    let second = listed["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|post| post["slug"] == "second")
        .cloned()
        .expect("second listed");
    assert_eq!(second["published_at"], "2019-05-02T07:30:00Z");
    assert_eq!(second["access"], "premium");
    assert_eq!(second["excerpt"], "Chosen words.");
    assert_eq!(second["author"], Value::Null, "no author given");
    let slugs = listed_slugs(&app, &reader).await;
    for hidden in ["coming-soon", "half-done", "no-date"] {
        assert!(!slugs.iter().any(|s| s == hidden), "{hidden} listed: {slugs:?}");
        let response = app.get(&reader, &format!("/blog/{hidden}")).await;
        assert_error_in(hidden, response, StatusCode::NOT_FOUND, "not_found").await;
    }
    // The author's own, each at the stage its file gave it.
    let mine: Vec<(Value, Value)> = posts_of(&app, &author)
        .await
        .iter()
        .filter(|post| post["title"] != "Same body")
        .map(|post| (post["slug"].clone(), post["status"].clone()))
        .collect();
    assert_eq!(
        mine.len(),
        3,
        "the posts without an author are not hers: {mine:?}"
    );
    for (slug, status) in [
        ("first-of-may", "published"),
        ("coming-soon", "scheduled"),
        ("half-done", "draft"),
    ] {
        let expected = (json!(slug), json!(status));
        assert!(mine.contains(&expected), "{slug} {status} in {mine:?}");
    }
    let coming = preview(&app, &author, "coming-soon").await;
    assert_eq!(coming["published_at"], rfc3339(in_an_hour));
    let draft = preview(&app, &author, "half-done").await;
    assert_eq!(draft["published_at"], Value::Null);

    app.advance_clock(2 * 3_600);

    let later = app.logged_in_client("Rob").await;
    let coming = read(&app, &later, "/blog/coming-soon").await;
    assert_eq!(coming["html"], "<p>Soon.</p>\n");
    assert!(listed_slugs(&app, &later).await.contains(&"coming-soon".to_owned()));
    let response = app.get(&later, "/blog/half-done").await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}
}

backend_test! {
async fn importing_a_changed_file_again_updates_the_same_post() {
    let (app, author) = spawn_app_and_author().await;
    let dir = tempfile::tempdir().unwrap();
    let first = markdown(
        &["title: Moving in", "date: 2020-01-01", "access: free", "author: alice"],
        "First *take*.\n",
    );
    write(dir.path(), "post.md", &first);
    let output = import(&app, dir.path(), &["post.md"]);
    assert_imported(&output, "created moving-in\n1 created, 0 updated, 0 failed\n");
    let before = preview(&app, &author, "moving-in").await;
    let second = markdown(
        &["title: Moving in, revised", "slug: moving-in", "date: 2020-01-02",
          "access: metered", "author: alice"],
        "Second **take**, a longer one.\n",
    );
    write(dir.path(), "post.md", &second);

    let output = import(&app, dir.path(), &["post.md"]);

    assert_imported(&output, "updated moving-in\n0 created, 1 updated, 0 failed\n");
    let after = preview(&app, &author, "moving-in").await;
    assert_eq!(after["id"], before["id"], "the same post");
    assert_eq!(after["title"], "Moving in, revised");
    assert_eq!(after["html"], "<p>Second <strong>take</strong>, a longer one.</p>\n");
    // Metered now: the derived excerpt holds at most half the text.
    assert_eq!(after["excerpt"], "Second take…");
    assert_eq!(after["access"], "metered");
    assert_eq!(after["published_at"], "2020-01-02T00:00:00Z");
    assert_eq!(after["created_at"], before["created_at"]);
    assert!(
        time(&after["updated_at"]) > time(&before["updated_at"]),
        "{before} then {after}"
    );
    let copies = count(&app, "SELECT COUNT(*) AS n FROM posts WHERE slug LIKE 'moving-in%'");
    assert_eq!(copies, 1, "no duplicate");
    let reader = app.logged_in_client("Rita").await;
    let read_back = read(&app, &reader, "/blog/moving-in").await;
    assert_eq!(read_back["title"], "Moving in, revised");
    // An editor still holding the version from before the import is told.
    let stale = app
        .edit_post(
            &author,
            before["id"].as_i64().unwrap(),
            &json!({"title": "Mine", "updated_at": before["updated_at"]}),
        )
        .await;
    assert_error(stale, StatusCode::CONFLICT, "edit_conflict").await;
    // Without a date the file makes it a draft again; without an author,
    // nobody's.
    write(dir.path(), "post.md", &markdown(&["title: Moving in"], "Third.\n"));
    let output = import(&app, dir.path(), &["post.md"]);
    assert_imported(&output, "updated moving-in\n0 created, 1 updated, 0 failed\n");
    let response = app.get(&reader, "/blog/moving-in").await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let hers = posts_of(&app, &author).await;
    assert!(hers.iter().all(|post| post["slug"] != "moving-in"), "{hers:?}");
}
}

backend_test! {
async fn a_deleted_posts_slug_goes_to_a_new_imported_post() {
    let (app, author) = spawn_app_and_author().await;
    let old = app
        .create_post(&author, &json!({"title": "Moving in", "body": "Old."}))
        .await;
    assert_eq!(old.status(), StatusCode::CREATED);
    let old: Value = old.json().await.unwrap();
    assert_eq!(old["slug"], "moving-in");
    let deleted = app.delete_post(&author, old["id"].as_i64().unwrap()).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let dir = tempfile::tempdir().unwrap();
    let file = markdown(&["title: Moving in", "author: alice"], "New.\n");
    write(dir.path(), "post.md", &file);

    let output = import(&app, dir.path(), &["post.md"]);

    assert_imported(&output, "created moving-in\n1 created, 0 updated, 0 failed\n");
    let new = preview(&app, &author, "moving-in").await;
    assert_ne!(new["id"], old["id"]);
    assert_eq!(new["body"], "New.\n");
    assert_eq!(new["status"], "draft");
}
}

backend_test! {
async fn each_bad_file_is_named_with_its_field_and_the_good_ones_are_imported_all_the_same() {
    let (app, _author) = spawn_app_and_author().await;
    let _reader = app.logged_in_client("Rita").await;
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("a", markdown(&["title: Good one", "date: 2020-01-01", "access: free"], "Good.\n")),
        ("b", markdown(&["slug: untitled", "access: free"], "No title.\n")),
        ("c", markdown(&["title: C", "slug: bad-access", "access: paid"], "C.\n")),
        ("d", markdown(&["title: D", "slug: unknown-author", "author: nobody"], "D.\n")),
        ("e", markdown(&["title: E", "slug: reader-author", "author: rita"], "E.\n")),
        ("f", markdown(&["title: F", "slug: bad-yaml", "- a list item"], "F.\n")),
        ("g", markdown(&["title: G", "slug: bad-date", "date: 2020-13-01"], "G.\n")),
        ("h", "Just Markdown, no front matter.\n".to_owned()),
        ("i", markdown(&["title: Good one", "access: free"], "Same slug as a.md.\n")),
        ("j", markdown(&["title: Another good one"], "A draft.\n")),
    ];
    for (name, text) in &files {
        write(dir.path(), &format!("posts/{name}.md"), text);
    }

    let output = import(&app, dir.path(), &["posts", "missing.md"]);

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        stdout(&output),
        "created good-one\ncreated another-good-one\n2 created, 0 updated, 9 failed\n"
    );
    let errors = stderr(&output);
    let lines: Vec<&str> = errors.lines().collect();
    let expected = [
        "posts/b.md: title: is required",
        "posts/c.md: access: must be one of free, metered, premium",
        "posts/d.md: author: no user named \"nobody\"",
        "posts/e.md: author: \"Rita\" is a reader; only authors and admins write posts",
        "posts/f.md: front matter: did not find expected key at line 4",
        "posts/g.md: date: must be an RFC 3339 time (2026-12-01T09:00:00Z) or a date",
        "posts/h.md: no front matter; title is required",
        "posts/i.md: slug: good-one is also the slug of posts/a.md",
        "missing.md: no such file or folder",
    ];
    assert_eq!(lines.len(), expected.len(), "{errors}");
    for (line, start) in lines.iter().zip(expected) {
        assert!(line.starts_with(start), "{line:?} starts with {start:?}");
    }
    let bad = count(
        &app,
        "SELECT COUNT(*) AS n FROM posts WHERE slug IN \
         ('untitled', 'bad-access', 'unknown-author', 'reader-author', 'bad-yaml', 'bad-date')",
    );
    assert_eq!(bad, 0, "nothing of a bad file is stored");
    let all = count(&app, "SELECT COUNT(*) AS n FROM posts");
    assert_eq!(all, 12 + 2, "the demo posts and the good files");
    let reader = app.logged_in_client("Rob").await;
    let good = read(&app, &reader, "/blog/good-one").await;
    assert_eq!(good["body"], "Good.\n", "a.md's, not i.md's");
}
}

backend_test! {
async fn a_file_that_fails_leaves_the_post_it_would_have_updated_as_it_was() {
    let (app, author) = spawn_app_and_author().await;
    let _reader = app.logged_in_client("Rita").await;
    let dir = tempfile::tempdir().unwrap();
    let first = markdown(
        &["title: Moving in", "date: 2020-01-01", "access: free", "author: alice"],
        "First.\n",
    );
    write(dir.path(), "post.md", &first);
    let output = import(&app, dir.path(), &["post.md"]);
    assert_imported(&output, "created moving-in\n1 created, 0 updated, 0 failed\n");
    let before = preview(&app, &author, "moving-in").await;

    for (author_line, error) in [
        ("author: nobody", "post.md: author: no user named \"nobody\"\n"),
        (
            "author: rita",
            "post.md: author: \"Rita\" is a reader; only authors and admins write posts \
             (tollgate set-role Rita author)\n",
        ),
    ] {
        let changed = markdown(
            &["title: Moving in, revised", "slug: moving-in", "draft: true",
              "access: premium", author_line],
            "Second.\n",
        );
        write(dir.path(), "post.md", &changed);

        let output = import(&app, dir.path(), &["post.md"]);

        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert_eq!(stderr(&output), error);
        assert_eq!(stdout(&output), "0 created, 0 updated, 1 failed\n");
        let after = preview(&app, &author, "moving-in").await;
        assert_eq!(after, before, "{author_line}: unchanged");
    }
    // Two files of one run for one slug: the first is imported; the second,
    // which would replace what the first stored, is refused.
    let keys = ["title: Moving in", "slug: moving-in", "access: free", "author: alice"];
    let a = markdown(&[&keys[..], &["date: 2020-01-01"]].concat(), "From a.\n");
    write(dir.path(), "more/a.md", &a);
    write(dir.path(), "more/b.md", &markdown(&keys, "From b.\n"));

    let output = import(&app, dir.path(), &["more"]);

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(stdout(&output), "updated moving-in\n0 created, 1 updated, 1 failed\n");
    let error = stderr(&output);
    assert!(
        error.starts_with("more/b.md: slug: moving-in is also the slug of more/a.md"),
        "{error}"
    );
    let after = preview(&app, &author, "moving-in").await;
    assert_eq!(after["body"], "From a.\n");
    assert_eq!(after["status"], "published");
}
}

/// Imports `post.md` (`title: Moving in`, by alice), which must be
/// created; then each of `files`, which must fail with its error and store
/// nothing: `moving-in` stays as it was, and no post is added.
async fn assert_refused_files(app: &TestApp, author: &Client, files: &[(&str, String, String)]) {
    let dir = tempfile::tempdir().unwrap();
    let first = markdown(
        &["title: Moving in", "access: free", "author: alice"],
        "First.\n",
    );
    write(dir.path(), "post.md", &first);
    let output = import(app, dir.path(), &["post.md"]);
    assert_imported(
        &output,
        "created moving-in\n1 created, 0 updated, 0 failed\n",
    );
    let before = preview(app, author, "moving-in").await;
    let posts = count(app, "SELECT COUNT(*) AS n FROM posts");

    for (name, text, error) in files {
        write(dir.path(), name, text);

        let output = import(app, dir.path(), &[name]);

        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert_eq!(stderr(&output), format!("{name}: {error}\n"));
        assert_eq!(stdout(&output), "0 created, 0 updated, 1 failed\n");
    }
    assert_eq!(preview(app, author, "moving-in").await, before);
    assert_eq!(count(app, "SELECT COUNT(*) AS n FROM posts"), posts);
}

// PostgreSQL's text cannot hold U+0000 and SQLite's can: a file holding it
// anywhere is refused, as a request would be, on both.
backend_test! {
async fn a_file_holding_u0000_is_named_with_its_field_and_stores_nothing() {
    let (app, author) = spawn_app_and_author().await;
    let nul = "must not contain U+0000 (NUL)";
    let again = ["title: Moving in, revised", "slug: moving-in", "author: alice"];
    let files = [
        ("post.md", markdown(&again, "Second\0.\n"), format!("body: {nul}")),
        (
            "post.md",
            // YAML's `\0` escape, in a double-quoted scalar, is U+0000.
            markdown(&["title: \"Moving\\0in\"", "slug: moving-in"], "Second.\n"),
            format!("title: {nul}"),
        ),
        (
            "post.md",
            markdown(&["title: Moving in", "slug: moving-in", "author: \"alice\\0\""], "Second.\n"),
            format!("author: {nul}"),
        ),
        ("new.md", markdown(&["title: New"], "\0"), format!("body: {nul}")),
    ];

    assert_refused_files(&app, &author, &files).await;
}
}

// A file's body is held to what rendering may cost, as a request's is.
backend_test! {
async fn a_file_nested_deeper_than_100_levels_is_named_and_stores_nothing() {
    let (app, author) = spawn_app_and_author().await;
    let deep = "body: must not nest block quotes and lists more than 100 levels deep";
    let again = ["title: Moving in, revised", "slug: moving-in", "author: alice"];
    let files = [
        ("post.md", markdown(&again, &format!("{}deep\n", "> ".repeat(101))), deep.to_owned()),
        ("new.md", markdown(&["title: New"], &format!("{}deep\n", "- ".repeat(101))), deep.to_owned()),
    ];

    assert_refused_files(&app, &author, &files).await;
}
}

backend_test! {
async fn import_needs_a_path_and_names_the_ones_that_are_not_there() {
    let (app, _) = spawn_app_and_user("Alice").await;
    let dir = tempfile::tempdir().unwrap();

    let none = import(&app, dir.path(), &[]);
    let missing = import(&app, dir.path(), &["nowhere", "nothing.md"]);

    assert!(!none.status.success(), "{none:?}");
    assert!(stderr(&none).contains("<FILE OR FOLDER>"), "{none:?}");
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    assert_eq!(
        stderr(&missing),
        "nowhere: no such file or folder\nnothing.md: no such file or folder\n"
    );
    assert_eq!(stdout(&missing), "0 created, 0 updated, 2 failed\n");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM posts"), 12);
}
}

/// On PostgreSQL an import that created posts leaves fresh statistics of
/// them (the running server's plans, made while the posts were few, are
/// made again), even where autovacuum is off for the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_on_postgres_leaves_fresh_statistics_of_the_posts() {
    on_postgres(async {
        let (app, _author) = spawn_app_and_author().await;
        execute(&app, "ALTER TABLE posts SET (autovacuum_enabled = false)");
        let counted = || {
            count(
                &app,
                "SELECT reltuples::bigint AS n FROM pg_class WHERE oid = 'posts'::regclass",
            )
        };
        let before = counted();
        let dir = tempfile::tempdir().unwrap();
        for name in ["one", "two", "three"] {
            let file = markdown(&[&format!("title: {name}"), "author: alice"], "Body.\n");
            write(dir.path(), &format!("{name}.md"), &file);
        }

        let output = import(&app, dir.path(), &["."]);

        assert_imported(
            &output,
            "created one\ncreated three\ncreated two\n3 created, 0 updated, 0 failed\n",
        );
        let total = count(&app, "SELECT COUNT(*) AS n FROM posts");
        assert_ne!(before, total);
        assert_eq!(counted(), total);
    })
    .await;
}
