//! The authors' side of the blog: `/posts`, `/posts/{id}` and its
//! `publish` and `unpublish`, for authors (their own posts) and admins
//! (every post). A reader gets `403 forbidden`; an author asking for
//! another author's post gets `404`, as if it did not exist
//! (`Role::may_edit`).
//!
//! A post's fields are read, its html rendered and sanitized, and its
//! excerpt derived, when it is saved — never on read — on the blocking
//! pool: 200 KB of Markdown is milliseconds of CPU, which an event-loop
//! thread must not spend.
//! Every save is a compare-and-set on `updated_at` (`publishing::save`), so
//! two editors never overwrite each other silently.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{Map, Value};

use super::body::{Fields, JsonObject, OptionalObject};
use super::extract::{Editor, PathId};
use super::pagination::{pagination, single, Pagination};
use crate::db::posts::{self, Change, Content, EditableRow, Refused, Stage};
use crate::db::{self};
use crate::domain::post::{derive_excerpt, render, Access, Author, Body, Excerpt, Slug, Title};
use crate::domain::Role;
use crate::error::ApiError;
use crate::publishing;
use crate::state::AppState;
use crate::time::{self, rfc3339};

/// The largest body `POST /posts` and `PATCH /posts/{id}` take: a post of
/// 200,000 bytes of Markdown, escaped as JSON, with its other fields.
pub const POST_BODY_LIMIT: usize = 256 * 1024;

/// A post's fields, as an editor sends them.
pub type PostBody = JsonObject<POST_BODY_LIMIT>;

/// `EditablePost`: a post as its editors see it. `body` and `html` are left
/// out of listings.
#[derive(Serialize)]
struct EditablePost {
    id: i64,
    slug: String,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    html: Option<String>,
    excerpt: String,
    access: String,
    status: &'static str,
    /// `null` for a draft.
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    published_at: Option<i64>,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    created_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_micros")]
    updated_at: i64,
    author: Option<Author>,
    /// Its newsletter's progress; `null` when it was never asked to be
    /// emailed.
    email: Option<Email>,
}

/// `EditablePost.email`.
#[derive(Serialize)]
struct Email {
    status: String,
    recipients: i64,
    sent: i64,
}

impl EditablePost {
    fn new(row: EditableRow, now: i64, whole: bool) -> EditablePost {
        let stage = stage_of(&row, now);
        let (post, author) = (row.post, row.author);
        EditablePost {
            id: post.id,
            slug: post.slug,
            title: post.title,
            body: whole.then_some(post.body),
            html: whole.then_some(post.html),
            excerpt: post.excerpt,
            access: post.access,
            status: match stage {
                Stage::Draft => "draft",
                Stage::Scheduled => "scheduled",
                Stage::Published => "published",
            },
            published_at: (stage != Stage::Draft).then_some(post.published_at),
            created_at: row.created_at,
            updated_at: post.updated_at,
            author: Author::of(author),
            email: row.email_status.map(|status| Email {
                status,
                recipients: row.email_recipients.unwrap_or(0),
                sent: row.email_sent.unwrap_or(0),
            }),
        }
    }
}

/// Where a post stands at `now`: a scheduled post is a published one
/// whose time has not come.
fn stage_of(row: &EditableRow, now: i64) -> Stage {
    match (row.status.as_str(), row.post.published_at > now) {
        ("published", true) => Stage::Scheduled,
        ("published", false) => Stage::Published,
        _ => Stage::Draft,
    }
}

#[derive(Serialize)]
struct EditableList {
    posts: Vec<EditablePost>,
    page: i64,
    per_page: i64,
    total: i64,
}

/// The post `id`, if the caller may edit it (else `404`).
async fn editable(
    state: &AppState,
    Editor { user_id, role }: Editor,
    id: i64,
) -> Result<EditableRow, ApiError> {
    let row = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(posts::find_editable(conn, id)?)
    })
    .await?;
    row.filter(|row| role.may_edit(user_id, row.author_id))
        .ok_or(ApiError::NotFound)
}

/// `GET /posts`: the caller's posts (an admin's: everyone's), most
/// recently updated first, optionally at one `status`.
pub async fn list(
    state: web::Data<AppState>,
    Editor { user_id, role }: Editor,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let Pagination { page, per_page } = pagination(req.query_string())?;
    let stage = stage_query(req.query_string())?;
    let now = state.clock.now();
    let author = (role != Role::Admin).then_some(user_id);
    let (rows, total) = db::idempotent(&state.pool, now, move |conn, _| {
        Ok::<_, ApiError>(posts::page_for_editor(
            conn,
            author,
            stage,
            now,
            (page, per_page),
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(EditableList {
        posts: rows
            .into_iter()
            .map(|row| EditablePost::new(row, now, false))
            .collect(),
        page,
        per_page,
        total,
    }))
}

/// The `status` query parameter, if given.
fn stage_query(query: &str) -> Result<Option<Stage>, ApiError> {
    let stage = match single(query, "status")? {
        Ok(None) => return Ok(None),
        Ok(Some(value)) => match value.as_str() {
            "draft" => Some(Stage::Draft),
            "scheduled" => Some(Stage::Scheduled),
            "published" => Some(Stage::Published),
            _ => None,
        },
        Err(()) => None,
    };
    stage.map(Some).ok_or_else(|| {
        ApiError::field(
            "status",
            "must be given once, as draft, scheduled or published",
        )
    })
}

/// A post's fields as sent, checked: each present one parsed by its rule,
/// every problem named in one `422`. `whole`: a new post, whose title and
/// body are required.
#[derive(Clone)]
struct Sent {
    title: Option<Title>,
    body: Option<Body>,
    /// `Some(None)`: `null`, back to the derived excerpt.
    excerpt: Option<Option<Excerpt>>,
    slug: Option<Slug>,
    access: Option<Access>,
    /// The version the editor started from (microseconds).
    updated_at: Option<i64>,
}

/// [`sent`] on the blocking pool: a body's rules read its Markdown
/// (`Body::parse` measures its nesting), milliseconds of CPU for a long
/// one, which an event-loop thread must not spend.
async fn read_sent(object: Map<String, Value>, whole: bool) -> Result<Sent, ApiError> {
    web::block(move || sent(&object, whole))
        .await
        .map_err(ApiError::internal)?
}

fn sent(object: &Map<String, Value>, whole: bool) -> Result<Sent, ApiError> {
    let mut fields = Fields::new(object);
    let optional = |fields: &mut Fields, name: &str| {
        if whole {
            fields.text(name).map(Some)
        } else {
            fields.optional_text(name)
        }
    };
    let title = optional(&mut fields, "title");
    let title = fields.parse("title", title, |t| {
        t.as_deref().map(Title::parse).transpose()
    });
    let body = optional(&mut fields, "body");
    let body = fields.parse("body", body, |b| b.as_deref().map(Body::parse).transpose());
    let excerpt = fields.text_or_null("excerpt", false);
    let excerpt = fields.parse("excerpt", excerpt, |e| {
        e.as_deref().map(Excerpt::parse).transpose()
    });
    let slug = fields.optional_text("slug");
    let slug = fields.parse("slug", slug, |s| s.as_deref().map(Slug::parse).transpose());
    let access = fields.optional_text("access");
    let access = fields.parse("access", access, |a| {
        a.as_deref().map(Access::parse).transpose()
    });
    let updated_at = fields.time_or_null(
        "updated_at",
        time::parse_micros,
        "must be a time as the post's updated_at gives it",
    );
    // `null` is refused for the fields that have no "nothing" value; for
    // the excerpt it means "derive it again", and an `updated_at` of
    // `null` is no version sent.
    let excerpt_sent = object.contains_key("excerpt");
    let (Ok(title), Ok(body), Ok(excerpt), Ok(slug), Ok(access), Ok(updated_at)) =
        (title, body, excerpt, slug, access, updated_at)
    else {
        return Err(fields.into_error());
    };
    Ok(Sent {
        title,
        body,
        excerpt: excerpt_sent.then_some(excerpt),
        slug,
        access,
        updated_at,
    })
}

/// What a save stores, rendered off the event loop.
struct Rendered {
    title: String,
    body: String,
    html: String,
    excerpt: String,
    excerpt_given: bool,
    access: Access,
}

impl Rendered {
    fn content(&self) -> Content<'_> {
        Content {
            title: &self.title,
            body: &self.body,
            html: &self.html,
            excerpt: &self.excerpt,
            excerpt_given: self.excerpt_given,
            access: self.access.as_str(),
        }
    }
}

/// Renders the body (when it is new) and derives the excerpt (when none is
/// given), on the blocking pool. `html` is the stored one when the body is
/// the stored one.
async fn rendered(
    title: String,
    body: String,
    stored_html: Option<String>,
    excerpt: Option<String>,
    access: Access,
) -> Result<Rendered, ApiError> {
    web::block(move || {
        let html = stored_html.unwrap_or_else(|| render(&body));
        let (excerpt, excerpt_given) = match excerpt {
            Some(given) => (given, true),
            None => (derive_excerpt(&body, access), false),
        };
        Rendered {
            title,
            body,
            html,
            excerpt,
            excerpt_given,
            access,
        }
    })
    .await
    .map_err(ApiError::internal)
}

/// `POST /posts`: a new draft by the caller.
pub async fn create(
    state: web::Data<AppState>,
    editor: Editor,
    body: PostBody,
) -> Result<HttpResponse, ApiError> {
    let user_id = editor.user_id;
    let sent = read_sent(body.0, true).await?;
    let (Some(title), Some(text)) = (sent.title, sent.body) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "a whole post lacks its title or body"
        )));
    };
    let wanted = Slug::from_title(&title);
    let excerpt = sent.excerpt.flatten().map(|e| e.as_str().to_owned());
    let access = sent.access.unwrap_or_default();
    let post = rendered(
        title.as_str().to_owned(),
        text.as_str().to_owned(),
        None,
        excerpt,
        access,
    )
    .await?;
    // In microseconds, as every save's `updated_at`: a post created just
    // after another was saved must list before it (most recent first).
    let now_micros = state.clock.now_micros();
    let now = now_micros.div_euclid(1_000_000);
    let slug = sent.slug;
    let row = db::once(&state.pool, now, move |conn, _| {
        let slug = slug.as_ref().ok_or(&wanted);
        let (id, _) = match posts::insert(conn, &post.content(), slug, user_id, now_micros)? {
            Ok(saved) => saved,
            Err(Refused::SlugTaken) => return Err(ApiError::SlugTaken),
            Err(Refused::Conflict) => return Err(ApiError::EditConflict),
        };
        posts::find_editable(conn, id)?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a new post was not found")))
    })
    .await?;
    Ok(HttpResponse::Created().json(EditablePost::new(row, now, true)))
}

/// `GET /posts/{id}`: the author's preview, at any stage.
pub async fn read(
    state: web::Data<AppState>,
    editor: Editor,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let row = editable(&state, editor, id).await?;
    Ok(HttpResponse::Ok().json(EditablePost::new(row, state.clock.now(), true)))
}

/// `PATCH /posts/{id}`: changes the fields sent; the others stay.
pub async fn edit(
    state: web::Data<AppState>,
    editor: Editor,
    PathId(id): PathId,
    body: PostBody,
) -> Result<HttpResponse, ApiError> {
    let sent = read_sent(body.0, false).await?;
    let row = if sent.updated_at.is_some() {
        edit_once(&state, editor, id, sent).await?
    } else {
        // No version sent, so no version check asked for: a save that
        // meets another one starts again from the newer version rather
        // than answering a conflict nobody asked about.
        retrying(|| edit_once(&state, editor, id, sent.clone())).await?
    };
    Ok(HttpResponse::Ok().json(EditablePost::new(row, state.clock.now(), true)))
}

/// One try at an edit: read the post, render, compare-and-set.
async fn edit_once(
    state: &AppState,
    editor: Editor,
    id: i64,
    sent: Sent,
) -> Result<EditableRow, ApiError> {
    let EditableRow {
        post: stored,
        excerpt_given,
        ..
    } = editable(state, editor, id).await?;
    if sent.updated_at.is_some_and(|seen| stored.updated_at > seen) {
        return Err(ApiError::EditConflict);
    }
    // The stored html is kept unless the body changes.
    let body_changed = sent
        .body
        .as_ref()
        .is_some_and(|b| b.as_str() != stored.body);
    let excerpt = match sent.excerpt {
        Some(Some(given)) => Some(given.as_str().to_owned()),
        Some(None) => None,
        None if excerpt_given => Some(stored.excerpt.clone()),
        None => None,
    };
    let post = rendered(
        sent.title.map_or(stored.title, |t| t.as_str().to_owned()),
        sent.body.map_or(stored.body, |b| b.as_str().to_owned()),
        (!body_changed).then_some(stored.html),
        excerpt,
        sent.access
            .unwrap_or_else(|| Access::parse(&stored.access).unwrap_or_default()),
    )
    .await?;
    let slug = sent.slug;
    save(state, id, stored.updated_at, move |conn, expected, now| {
        let change = Change::Content(post.content(), slug.as_ref());
        publishing::save(conn, id, expected, now, &change)
    })
    .await
}

/// `POST /posts/{id}/publish`: at once (`at` absent or not in the future,
/// back-dated to `at` if given), or scheduled for `at`; with `email`, the
/// post goes to the newsletter's subscribers once readers can see it
/// (`crate::mail::newsletters`).
pub async fn publish(
    state: web::Data<AppState>,
    editor: Editor,
    PathId(id): PathId,
    body: OptionalObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let at = fields.time_or_null(
        "at",
        time::parse_seconds,
        "must be an RFC 3339 time, e.g. 2026-12-01T09:00:00Z",
    );
    let email = fields.flag("email");
    let (Ok(at), Ok(email)) = (at, email) else {
        return Err(fields.into_error());
    };
    let at = at.unwrap_or_else(|| state.clock.now());
    let answer = change_status(&state, editor, id, Change::Publish { at, email }).await;
    if email && answer.is_ok() {
        // The newsletter's sender looks at once: a post visible now is
        // queued without waiting for its next look.
        state.mail.wake_newsletters();
    }
    answer
}

/// `POST /posts/{id}/unpublish`: a draft again. Reads spent stay spent.
pub async fn unpublish(
    state: web::Data<AppState>,
    editor: Editor,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    change_status(&state, editor, id, Change::Unpublish).await
}

/// Publishes or unpublishes post `id` over whatever version is stored: the
/// caller sent no version, so a save that meets another one reads the
/// newer version and tries again (see [`retrying`]).
async fn change_status(
    state: &AppState,
    editor: Editor,
    id: i64,
    change: Change<'static>,
) -> Result<HttpResponse, ApiError> {
    let row = retrying(|| async move {
        let row = editable(state, editor, id).await?;
        save(
            state,
            id,
            row.post.updated_at,
            move |conn, expected, now| publishing::save(conn, id, expected, now, &change),
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Ok().json(EditablePost::new(row, state.clock.now(), true)))
}

/// `DELETE /posts/{id}`: gone for readers (`404`) and editors; reads spent
/// on it stay spent, and its slug is free again.
pub async fn delete(
    state: web::Data<AppState>,
    editor: Editor,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    editable(&state, editor, id).await?;
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        Ok::<_, ApiError>(publishing::delete(conn, id, now)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// How often a save that sent no version is tried before another editor's
/// saves, landing in between every time, make it answer `409`.
const SAVE_ATTEMPTS: usize = 3;

/// Runs `attempt` (read the post, then save it compare-and-set) again when
/// another save landed between its read and its write.
async fn retrying<F, Fut>(mut attempt: F) -> Result<EditableRow, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<EditableRow, ApiError>>,
{
    for _ in 1..SAVE_ATTEMPTS {
        match attempt().await {
            Err(ApiError::EditConflict) => continue,
            answer => return answer,
        }
    }
    attempt().await
}

/// Runs a compare-and-set save of post `id` from version `expected` and
/// answers the post as saved: `409 edit_conflict` when someone else saved
/// first, `409 slug_taken` for a slug another live post has.
async fn save<F>(
    state: &AppState,
    id: i64,
    expected: i64,
    write: F,
) -> Result<EditableRow, ApiError>
where
    F: FnOnce(&mut db::Conn, i64, i64) -> Result<Result<(), Refused>, db::Error> + Send + 'static,
{
    let now_micros = state.clock.now_micros();
    let now = now_micros.div_euclid(1_000_000);
    db::once(&state.pool, now, move |conn, _| {
        match write(conn, expected, now_micros)? {
            Ok(()) => {}
            Err(Refused::SlugTaken) => return Err(ApiError::SlugTaken),
            Err(Refused::Conflict) => return Err(ApiError::EditConflict),
        }
        posts::find_editable(conn, id)?.ok_or(ApiError::NotFound)
    })
    .await
}
