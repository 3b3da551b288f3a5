//! The module graph, checked: no cycles between `src/`'s top-level modules,
//! and every reference pointing down the layers in [`LAYERS`]; and the same
//! inside `src/db/`, whose rooms are layered by [`DB_LAYERS`] (the engine
//! names no table), and inside `src/routes/`, by [`ROUTES_LAYERS`] (no
//! resource reaches up into the route table or its parent). Inside
//! `src/db/tables/` every file is read ([`TABLES`]): no cycles, and each
//! table's module a leaf that names no other.
//!
//! Why: dependencies point one way, and a module never imports one that
//! imports it back. Two modules that import each other are
//! one module in disguise: neither can be read, tested or moved without the
//! other, and an upward import (the database layer reaching into a handler)
//! is how such a tangle starts. And a rule that lives only in a comment
//! gets broken, one convenient `use` at a time, by someone who never read
//! the comment.
//!
//! How: `src/` is read as text, so the check needs no crate beyond std and
//! nothing of the code to compile. Comments and string and character
//! literals are blanked out first; then every path that starts at the
//! library's root is read: `use crate::x::…`, `crate::x::f(…)` anywhere
//! (in macros and qualified paths too), `use crate::{x, y::{z}}` groups,
//! `$crate::x` in macro bodies, a `super::` that climbs out of its top-level
//! module, and `tollgate::x` in `main.rs`. A file belongs to the top-level
//! module it sits in (`src/db/tables/users.rs` is `db`); `main.rs` is `main`;
//! `lib.rs`, which only lists the modules, is skipped. Code in
//! `#[cfg(test)]` modules counts like any other.
//!
//! Fixing a failure: the message names each cycle or upward reference and
//! the `file:line` of every reference that makes it. Make the dependency
//! point down: move the item to the lower module (or to a new module low in
//! the tree, placed in [`LAYERS`]), or have the caller pass the value in
//! instead of the callee reaching up for it (habit 12: a function takes the
//! three things it needs). Editing [`LAYERS`] to make an edge legal changes
//! the architecture; say why in the commit, and in ARCHITECTURE.md.
//!
//! `ARCH_SRC_DIR=/path/to/src cargo test --test architecture` checks another
//! source tree instead of this package's `src/`: a fixture with a known
//! cycle, say, to see the check fail before trusting it to pass.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "architecture/scan.rs"]
mod scan;

use scan::{blank_comments_and_literals, root_paths, scan, Graph, ModuleGraph, Owner, Site};

/// The project's intended layering, top to bottom (ARCHITECTURE.md's
/// module map). A module may refer to modules in its own
/// layer or any layer below, never above. Every top-level module must be
/// listed, so that a new one is placed deliberately; a name listed before
/// its module exists is not an error, so this list may lead a refactor.
///
/// `error` sits above `db`, because `db` answers in database terms (`db::Error`) and
/// `error.rs` alone turns those into statuses and codes.
const LAYERS: &[&[&str]] = &[
    &["main"],
    &["startup"],
    &["routes", "middleware", "import"],
    &["accounts", "publishing", "reading"],
    &["state"],
    &["auth", "session", "billing", "mail", "webhooks"],
    &["error"],
    &["db"],
    &["domain"],
    &["config", "clock", "time", "logging", "client_ip", "metrics"],
];

/// The rooms of `src/db/`, top to bottom, checked as [`LAYERS`] are: the
/// facade (`db/mod.rs`, which only re-exports), what the hot paths read
/// ahead (`db/read_ahead.rs`, the hook between the two rooms) and what
/// `/blog` reads in one round trip (`db/listing.rs`), the tables' queries,
/// the rows their joins share (`db/rows.rs`),
/// Diesel's generated schema, and the engine. The engine is last:
/// it names no table and knows nothing of what is read ahead, which comes
/// to it as a type parameter. Code inside `db/` reaches another room
/// through the room's own path (`crate::db::engine::Conn`), not through
/// the facade's re-exports, so that this check can see it.
const DB_LAYERS: &[&[&str]] = &[
    &["db"],
    &["read_ahead", "listing"],
    &["tables"],
    &["rows"],
    &["schema"],
    &["engine"],
];

/// The rooms of `src/routes/`, top to bottom, checked as [`LAYERS`] are:
/// `routes/mod.rs` (the module list, and re-exports of the table), the
/// route table (which names every handler), the resources (one file each,
/// which never name each other), and what they stand on: the extractors
/// and `page`, then the body. `mod.rs` defines nothing, so a resource that
/// reached up for a helper there (`super::write`) would name no room and
/// fail as an unknown module; a resource naming the table or another
/// resource fails as an upward or sideways reference.
const ROUTES_LAYERS: &[&[&str]] = &[
    &["routes"],
    &["table"],
    RESOURCES,
    &["extract", "pagination", "reading"],
    &["body"],
];

/// The resources of `src/routes/`, one layer of [`ROUTES_LAYERS`]; within
/// it, [`resources_name_no_other_resource`] refuses any reference between
/// two of them.
const RESOURCES: &[&str] = &[
    "account",
    "admin",
    "auth",
    "billing",
    "blog",
    "email_sign_in",
    "gifts",
    "health",
    "insights",
    "newsletters",
    "passkeys",
    "posts",
    "providers",
    "recovery",
    "two_factor",
    "webhooks",
];

/// What one check reads: the crate, or a module's insides.
struct Scope {
    /// The path from the crate root to the scope's root: none for the
    /// crate, `db` for `src/db/`.
    prefix: &'static [&'static str],
    /// The scope's own root file, which lists its modules: `lib.rs` is left
    /// out; `db/mod.rs` is the module named here.
    root_file: &'static str,
    root_module: Option<&'static str>,
    layers: &'static [&'static [&'static str]],
}

const CRATE: Scope = Scope {
    prefix: &[],
    root_file: "lib.rs",
    root_module: None,
    layers: LAYERS,
};

const DB: Scope = Scope {
    prefix: &["db"],
    root_file: "mod.rs",
    root_module: Some("db"),
    layers: DB_LAYERS,
};

const ROUTES: Scope = Scope {
    prefix: &["routes"],
    root_file: "mod.rs",
    root_module: Some("routes"),
    layers: ROUTES_LAYERS,
};

/// The insides of `src/db/tables/`, read file by file: each table's module
/// (a file, or a folder such as `posts/`) is a room, and `tables/mod.rs`
/// the root. A table's module names its own table, `db::rows` (the rows
/// and SQL several tables' joins share), the schema and the engine, and no
/// other table's module: a job that spans tables is a service's, above
/// `db` (`accounts::members`, `accounts::subscriptions`, `publishing`).
const TABLES: Scope = Scope {
    prefix: &["db", "tables"],
    root_file: "mod.rs",
    root_module: Some("tables"),
    layers: &[],
};

/// The library's name, as the binary (`main.rs`) writes it in paths.
const LIBRARY: &str = "tollgate";

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = scan(&source_root(), &CRATE);
    let cycles = cycles(&graph.edges);
    assert!(cycles.is_empty(), "{}", cycle_report(&cycles, &graph.edges));
}

#[test]
fn every_reference_points_down_the_layers() {
    let graph = scan(&source_root(), &CRATE);
    let problems = layer_problems(&graph, &CRATE);
    assert!(
        problems.is_empty(),
        "The modules break the layering in LAYERS (tests/architecture.rs, top to bottom; \
         a module may refer to its own layer or lower ones):\n\n{}\n",
        problems.join("\n")
    );
}

#[test]
fn inside_db_no_room_imports_one_that_imports_it_back() {
    let graph = scan(&source_root().join("db"), &DB);
    let cycles = cycles(&graph.edges);
    assert!(cycles.is_empty(), "{}", cycle_report(&cycles, &graph.edges));
}

#[test]
fn inside_db_every_reference_points_down_and_the_engine_names_no_table() {
    let graph = scan(&source_root().join("db"), &DB);
    for room in ["engine", "tables", "schema", "read_ahead", "listing", "db"] {
        assert!(graph.modules.contains(room), "src/db/ has no {room}");
    }
    let problems = layer_problems(&graph, &DB);
    assert!(
        problems.is_empty(),
        "src/db/'s rooms break the layering in DB_LAYERS (tests/architecture.rs, top to \
         bottom; a room may refer to its own layer or lower ones):\n\n{}\n",
        problems.join("\n")
    );
}

#[test]
fn every_table_module_is_a_leaf() {
    let graph = scan(&source_root().join("db").join("tables"), &TABLES);
    for table in [
        "users",
        "posts",
        "billing",
        "newsletters",
        "unlocks",
        "sessions",
    ] {
        assert!(
            graph.modules.contains(table),
            "src/db/tables/ has no {table}"
        );
    }
    let mut problems = Vec::new();
    for (from, targets) in &graph.edges {
        for (to, sites) in targets {
            if from == "tables" || to == "tables" {
                continue;
            }
            let sites: Vec<String> = sites.iter().map(|site| site.to_string()).collect();
            problems.push(format!("  {from} -> {to}: {}", sites.join(", ")));
        }
    }
    assert!(
        problems.is_empty(),
        "a table's module names another's: a row or SQL fragment both read belongs in \
         db::rows, and a job spanning both in a service above db (accounts, publishing):\n{}",
        problems.join("\n")
    );
}

#[test]
fn inside_db_tables_no_file_imports_one_that_imports_it_back() {
    let graph = scan(&source_root().join("db").join("tables"), &TABLES);
    let cycles = cycles(&graph.edges);
    assert!(cycles.is_empty(), "{}", cycle_report(&cycles, &graph.edges));
}

#[test]
fn inside_routes_no_room_imports_one_that_imports_it_back() {
    let graph = scan(&source_root().join("routes"), &ROUTES);
    let cycles = cycles(&graph.edges);
    assert!(cycles.is_empty(), "{}", cycle_report(&cycles, &graph.edges));
}

#[test]
fn inside_routes_every_reference_points_down_and_none_reaches_the_parent() {
    let graph = scan(&source_root().join("routes"), &ROUTES);
    for room in ["routes", "table", "extract", "body", "pagination", "auth"] {
        assert!(graph.modules.contains(room), "src/routes/ has no {room}");
    }
    let problems = layer_problems(&graph, &ROUTES);
    assert!(
        problems.is_empty(),
        "src/routes/'s rooms break the layering in ROUTES_LAYERS (tests/architecture.rs, top \
         to bottom; a room may refer to its own layer or lower ones, and a resource reaches \
         the crate's other layers, never its parent):\n\n{}\n",
        problems.join("\n")
    );
}

#[test]
fn resources_name_no_other_resource() {
    let graph = scan(&source_root().join("routes"), &ROUTES);
    let mut problems = Vec::new();
    for (from, targets) in &graph.edges {
        for (to, sites) in targets {
            if RESOURCES.contains(&from.as_str()) && RESOURCES.contains(&to.as_str()) {
                let sites: Vec<String> = sites.iter().map(|site| site.to_string()).collect();
                problems.push(format!("  {from} -> {to}: {}", sites.join(", ")));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "a route's file names another's: what both need belongs in extract, body, \
         pagination or the accounts layer:\n{}",
        problems.join("\n")
    );
}

/// ARCHITECTURE.md's module map is the layering a newcomer reads: each row
/// names its layer and its modules, and they must be [`LAYERS`]' own.
#[test]
fn the_module_map_in_architecture_md_is_layers() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).expect("ARCHITECTURE.md");
    let map = text
        .split("## The module map")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("ARCHITECTURE.md has a section `## The module map`");
    let mut documented: Vec<Vec<String>> = Vec::new();
    for row in map.lines().filter(|line| line.starts_with("| ")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Ok(layer) = cells[1].parse::<usize>() else {
            continue;
        };
        if documented.len() < layer {
            documented.resize(layer, Vec::new());
        }
        let modules = cells[2]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|name| name.trim_end_matches(".rs").to_owned());
        documented[layer - 1].extend(modules);
    }
    let expected: Vec<Vec<String>> = LAYERS
        .iter()
        .map(|layer| layer.iter().map(|m| (*m).to_owned()).collect())
        .collect();
    assert_eq!(
        documented, expected,
        "ARCHITECTURE.md's module map (layer, module) must list LAYERS' modules, layer by layer"
    );
}

/// Inside a scope, paths go through the scope's root: `crate::db::engine`
/// names the engine room, `super::` climbing out of a room reaches db's
/// root, and `crate::` paths elsewhere are not the scope's business.
#[test]
fn inside_db_paths_are_read_from_db_s_root() {
    let tables_file = Owner {
        module: "tables".to_owned(),
        depth: 1,
        binary: false,
    };
    let source = "use crate::db::engine::Conn;\nuse crate::domain::Month;\n\
                  use super::super::schema::users;\nuse super::posts;\n\
                  use crate::db::{read_ahead::Lookup, tables::users};\n";
    let found = root_paths(&blank_comments_and_literals(source), &tables_file, &DB);
    let expected: Vec<(String, usize)> = [
        ("engine", 1),
        ("schema", 3),
        ("read_ahead", 5),
        ("tables", 5),
    ]
    .iter()
    .map(|&(name, line)| (name.to_owned(), line))
    .collect();
    assert_eq!(found, expected);
}

/// The check is only as good as its reading of the source: this pins down
/// what counts as a reference and what does not.
#[test]
fn the_scanner_reads_paths_in_code_and_nowhere_else() {
    // As if in src/routes/blog.rs: one level below its top-level module.
    let routes_file = Owner {
        module: "routes".to_owned(),
        depth: 1,
        binary: false,
    };
    let source = r##"//! crate::doc_comment is prose, not a dependency.
use crate::error::ApiError; // crate::trailing_comment
use crate::{db::{self, users}, state::AppState,
    {clock::Clock, time}};
/* crate::block /* crate::nested */ crate::still_a_comment */
use super::super::middleware::Wrapper;
fn f<'a>(x: &'a str) {
    let _ = ("crate::string \" crate::after_escape", '"', '\'', b'"');
    let _ = r#"crate::raw "quoted" crate::raw_too"#;
    let _ = crate::config::load();
    tracing::info!(target: "crate::x", user = %crate::domain::User::id());
    <crate::session::Store as crate::auth::Guard>::f();
}
macro_rules! m { () => { $crate::logging::line() }; }
mod tests {
    use super::super::Blog;
    use super::*;
}
"##;
    let found = root_paths(&blank_comments_and_literals(source), &routes_file, &CRATE);
    let expected = [
        ("error", 2),
        ("db", 3),
        ("state", 3),
        ("clock", 4),
        ("time", 4),
        ("middleware", 6),
        ("config", 10),
        ("domain", 11),
        ("session", 12),
        ("auth", 12),
        ("logging", 14),
    ];
    let expected: Vec<(String, usize)> = expected
        .iter()
        .map(|&(name, line)| (name.to_owned(), line))
        .collect();
    assert_eq!(found, expected);

    // In the binary, `tollgate::` is the library and `crate::` the binary.
    let main_file = Owner {
        module: "main".to_owned(),
        depth: 0,
        binary: true,
    };
    let source = "use tollgate::{config::Settings, startup};\nfn main() { crate::cli(); }\n";
    let found = root_paths(&blank_comments_and_literals(source), &main_file, &CRATE);
    let expected = vec![("config".to_owned(), 1), ("startup".to_owned(), 1)];
    assert_eq!(found, expected);
}

/// A check that cannot fail is worthless: a graph with two known cycles
/// must report both, each once, with the references that make them.
#[test]
fn a_cycle_is_reported_once_with_the_references_that_make_it() {
    let mut edges = Graph::new();
    for (from, to, line) in [
        ("a", "b", 1),
        ("b", "a", 2),
        ("b", "c", 3),
        ("c", "d", 4),
        ("d", "b", 5),
        ("a", "e", 6),
    ] {
        let site = Site {
            file: format!("src/{from}.rs"),
            line,
        };
        let sites = edges.entry(from.to_owned()).or_default();
        sites.entry(to.to_owned()).or_default().insert(site);
    }

    let found = cycles(&edges);

    let expected: BTreeSet<Vec<String>> = [vec!["a", "b"], vec!["b", "c", "d"]]
        .iter()
        .map(|cycle| cycle.iter().map(|&m| m.to_owned()).collect())
        .collect();
    assert_eq!(found, expected);
    let report = cycle_report(&found, &edges);
    assert!(report.contains("a -> b -> a\n    a -> b:\n      src/a.rs:1\n"));
    assert!(report.contains("b -> c -> d -> b\n"));
    assert!(report.contains("d -> b:\n      src/d.rs:5\n"));
}

/// `ARCH_SRC_DIR` if set, else this package's `src/`.
fn source_root() -> PathBuf {
    std::env::var_os("ARCH_SRC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// The graph's cycles, each as its modules in order (the first not repeated
/// at the end), starting at its alphabetically first module. For every edge
/// that lies on a cycle, the shortest cycle through it: that names every
/// reference worth moving, without the countless longer cycles a tangle of
/// modules holds.
fn cycles(edges: &Graph) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    for (from, targets) in edges {
        for to in targets.keys() {
            // `to` → … → `from`, closed by the edge `from` → `to`.
            if let Some(mut cycle) = shortest_path(edges, to, from) {
                cycle.rotate_right(1);
                let first = (0..cycle.len())
                    .min_by_key(|&k| &cycle[k])
                    .expect("a cycle has modules");
                cycle.rotate_left(first);
                found.insert(cycle);
            }
        }
    }
    found
}

/// The modules on a shortest path from `start` to `goal`, both included.
fn shortest_path(edges: &Graph, start: &str, goal: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(here) = queue.pop_front() {
        if here == goal {
            let mut path = vec![here.to_owned()];
            let mut at = here;
            while let Some(&previous) = came_from.get(at) {
                path.push(previous.to_owned());
                at = previous;
            }
            path.reverse();
            return Some(path);
        }
        for next in edges.get(here).into_iter().flat_map(BTreeMap::keys) {
            let next = next.as_str();
            if next != start && !came_from.contains_key(next) {
                came_from.insert(next, here);
                queue.push_back(next);
            }
        }
    }
    None
}

/// Each cycle as `a -> b -> a`, then every edge on it with the places that
/// make it.
fn cycle_report(cycles: &BTreeSet<Vec<String>>, edges: &Graph) -> String {
    let mut report = format!(
        "{} module cycle(s): a module refers to one that refers back to it \
         (dependencies point one way). Move one reference of each cycle so that the \
         dependency points down the layers (tests/architecture.rs):\n",
        cycles.len()
    );
    for cycle in cycles {
        writeln!(report, "\n  {} -> {}", cycle.join(" -> "), cycle[0]).unwrap();
        for (from, to) in cycle.iter().zip(cycle.iter().cycle().skip(1)) {
            writeln!(report, "    {from} -> {to}:").unwrap();
            for site in &edges[from][to] {
                writeln!(report, "      {site}").unwrap();
            }
        }
    }
    report
}

/// The index in `layers` of the layer holding `module`, 0 at the top.
fn layer_of(module: &str, layers: &[&[&str]]) -> Option<usize> {
    layers.iter().position(|layer| layer.contains(&module))
}

/// Every module missing from the scope's layers, every edge pointing up
/// them, and every root path this check cannot attribute to a module.
fn layer_problems(graph: &ModuleGraph, scope: &Scope) -> Vec<String> {
    let layer_of = |module: &str| layer_of(module, scope.layers);
    let mut problems = Vec::new();
    for module in &graph.modules {
        if layer_of(module).is_none() {
            problems.push(format!(
                "  add module {module} to LAYERS: it is in no layer (place it deliberately)"
            ));
        }
    }
    for (from, targets) in &graph.edges {
        for (to, sites) in targets {
            let (Some(high), Some(low)) = (layer_of(from), layer_of(to)) else {
                continue;
            };
            if low < high {
                let mut problem = format!(
                    "  {from} (layer {}) -> {to} (layer {}) points up:",
                    high + 1,
                    low + 1
                );
                for site in sites {
                    write!(problem, "\n      {site}").unwrap();
                }
                problems.push(problem);
            }
        }
    }
    for (name, site) in &graph.unresolved {
        problems.push(format!(
            "  {site}: `{name}` at the crate root is no top-level module, so this check \
             cannot see which module it depends on; use the item through its own module"
        ));
    }
    problems
}
