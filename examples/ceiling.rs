//! The benchmark's ceiling: a bare actix-web server answering
//! `GET /check_session` with the same User JSON and the same headers as
//! tollgate, and nothing else (no session, no database, no middleware
//! stack). `bench/run.sh` measures it beside tollgate.
//!
//! `ceiling serve PORT [WORKERS] [FILE]` serves (one worker unless told);
//! with FILE, `GET /same` also answers with FILE's JSON, parsed once and
//! serialized again for every request as tollgate serializes a post, with
//! the same headers: the ceiling for a read of a post of that size.
//! `ceiling hash COST` prints how long one
//! bcrypt hash takes at that cost, in milliseconds (the login storm's
//! limit is cores ÷ that time).

use actix_web::{web, App, HttpResponse, HttpResponseBuilder, HttpServer};
use serde::Serialize;

#[derive(Serialize)]
struct User {
    id: i64,
    username: &'static str,
    plan: &'static str,
    created_at: &'static str,
}

/// A `200 OK` with the headers tollgate sends on every JSON answer, so
/// that the ceiling writes as many bytes as tollgate does.
fn ok_with_tollgate_headers() -> HttpResponseBuilder {
    let mut ok = HttpResponse::Ok();
    ok.insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        ));
    ok
}

async fn check_session() -> HttpResponse {
    ok_with_tollgate_headers().json(User {
        id: 1,
        username: "bench",
        plan: "free",
        created_at: "2026-11-21T10:00:00Z",
    })
}

/// `GET /same`: the JSON of the file given to `serve`.
async fn same(body: web::Data<serde_json::Value>) -> HttpResponse {
    ok_with_tollgate_headers().json(body.get_ref())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("hash") => {
            let cost: u32 = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(10);
            let rounds = 5;
            let started = std::time::Instant::now();
            for _ in 0..rounds {
                let _ = bcrypt::hash("a benchmark passphrase", cost);
            }
            println!(
                "{:.3}",
                started.elapsed().as_secs_f64() * 1000.0 / rounds as f64
            );
            Ok(())
        }
        Some("serve") => {
            let port: u16 = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(18900);
            let workers: usize = args.get(3).and_then(|w| w.parse().ok()).unwrap_or(1);
            let same_body: serde_json::Value = match args.get(4) {
                Some(path) => serde_json::from_slice(&std::fs::read(path)?)?,
                None => serde_json::Value::Null,
            };
            let same_body = web::Data::new(same_body);
            actix_web::rt::System::new().block_on(async move {
                HttpServer::new(move || {
                    App::new()
                        .app_data(same_body.clone())
                        .route("/check_session", web::get().to(check_session))
                        .route("/same", web::get().to(same))
                })
                .workers(workers)
                // As tollgate serves (see its `startup.rs`): no answer
                // waits on Nagle's algorithm.
                .tcp_nodelay(true)
                .bind(("127.0.0.1", port))?
                .run()
                .await
            })
        }
        _ => {
            eprintln!("usage: ceiling serve PORT [WORKERS] [FILE] | ceiling hash COST");
            std::process::exit(2);
        }
    }
}
