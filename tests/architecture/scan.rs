//! Reading `src/` as text: which module each file belongs to, and every
//! path in its code that names another module (comments and literals
//! blanked first). `tests/architecture.rs` checks what this finds.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use super::{Scope, LIBRARY};

/// One place in the source that refers to another module.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Site {
    pub(super) file: String,
    pub(super) line: usize,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Module → module it refers to → the places that do. A module referring
/// to itself is no dependency and is left out.
pub(super) type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<Site>>>;

/// What reading a source tree found.
#[derive(Default)]
pub(super) struct ModuleGraph {
    /// Every top-level module with a file (`main` included, `lib` not).
    pub(super) modules: BTreeSet<String>,
    pub(super) edges: Graph,
    /// Root paths whose first segment is no top-level module (an item
    /// defined or re-exported in lib.rs): a dependency this check cannot see.
    pub(super) unresolved: Vec<(String, Site)>,
}

/// The top-level module a file belongs to.
pub(super) struct Owner {
    pub(super) module: String,
    /// Module levels between the file and its top-level module: 0 for
    /// `src/db/mod.rs` or `src/db.rs`, 1 for `src/db/users.rs`. A `super::`
    /// that climbs past them reaches the crate root.
    pub(super) depth: usize,
    /// The binary (`main.rs`): it reaches the library as `tollgate::x`, and
    /// its own `crate::` is the binary, not the library.
    pub(super) binary: bool,
}

impl Owner {
    /// The owner of a file, from its path relative to the scope's root;
    /// `None` for `lib.rs`, the crate root.
    fn of(relative: &Path, scope: &Scope) -> Option<Owner> {
        let parts: Vec<String> = relative
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        let (module, depth, binary) = match parts.as_slice() {
            [file] if file == scope.root_file => (scope.root_module?.to_owned(), 0, false),
            [file] if file == "main.rs" => ("main".to_owned(), 0, true),
            [file] => (file.strip_suffix(".rs")?.to_owned(), 0, false),
            [dir, .., file] => {
                let below_dir = if file == "mod.rs" { 2 } else { 1 };
                (dir.clone(), parts.len() - below_dir, false)
            }
            [] => return None,
        };
        Some(Owner {
            module,
            depth,
            binary,
        })
    }
}

/// Reads every `.rs` file under `root` into the graph of the scope's
/// modules.
pub(super) fn scan(root: &Path, scope: &Scope) -> ModuleGraph {
    let mut files = Vec::new();
    collect_rust_files(root, &mut files);
    // An empty scan would pass vacuously; a wrong ARCH_SRC_DIR must not.
    assert!(
        !files.is_empty(),
        "no .rs files under {} (is ARCH_SRC_DIR right?)",
        root.display()
    );
    files.sort();

    let mut graph = ModuleGraph::default();
    let mut references = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(root).expect("a file under the root");
        let Some(owner) = Owner::of(relative, scope) else {
            continue;
        };
        let source = fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        let file = shown_path(path);
        for (target, line) in root_paths(&blank_comments_and_literals(&source), &owner, scope) {
            let site = Site {
                file: file.clone(),
                line,
            };
            references.push((owner.module.clone(), target, site));
        }
        graph.modules.insert(owner.module);
    }

    // Resolved only once every file is read, when every module is known.
    for (from, to, site) in references {
        if !graph.modules.contains(&to) {
            graph.unresolved.push((to, site));
        } else if from != to {
            let targets = graph.edges.entry(from).or_default();
            targets.entry(to).or_default().insert(site);
        }
    }
    graph
}

pub(super) fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("a readable directory entry").path();
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// A path as a failure message shows it: relative to the package
/// (`src/db/mod.rs`) when it is inside it, in full otherwise.
pub(super) fn shown_path(path: &Path) -> String {
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(package)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `source` with every comment (doc comments included) and every string,
/// byte-string or character literal replaced by spaces, line breaks kept: what
/// remains is code, on the same lines as in the file.
pub(super) fn blank_comments_and_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut code = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        if let Some(end) = skipped_span_end(&chars, i) {
            let blanked = chars[i..end]
                .iter()
                .map(|&c| if c == '\n' { '\n' } else { ' ' });
            code.extend(blanked);
            i = end;
        } else {
            code.push(chars[i]);
            i += 1;
        }
    }
    code
}

/// If a comment or a literal starts at `chars[i]`, the index just past it.
pub(super) fn skipped_span_end(chars: &[char], i: usize) -> Option<usize> {
    let starts_word = i == 0 || !is_word_char(chars[i - 1]);
    match (chars[i], chars.get(i + 1)) {
        ('/', Some('/')) => Some(
            chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |n| i + n),
        ),
        ('/', Some('*')) => Some(block_comment_end(chars, i)),
        ('"', _) => Some(quoted_end(chars, i + 1, '"')),
        // A character literal, `'\''` or `'x'`; otherwise `'` starts a
        // lifetime or a label, which is code.
        ('\'', Some('\\')) => Some(quoted_end(chars, i + 1, '\'')),
        ('\'', Some(_)) if chars.get(i + 2) == Some(&'\'') => Some(i + 3),
        ('b' | 'c' | 'r', _) if starts_word => raw_string_end(chars, i),
        _ => None,
    }
}

/// The index past the `/* … */` comment starting at `chars[i]`; Rust's
/// block comments nest.
pub(super) fn block_comment_end(chars: &[char], i: usize) -> usize {
    let mut depth = 0;
    let mut j = i;
    while j < chars.len() {
        match (chars[j], chars.get(j + 1)) {
            ('/', Some('*')) => {
                depth += 1;
                j += 2;
            }
            ('*', Some('/')) => {
                depth -= 1;
                j += 2;
                if depth == 0 {
                    return j;
                }
            }
            _ => j += 1,
        }
    }
    chars.len()
}

/// The index past the `quote` that closes a literal whose text starts at
/// `chars[start]`, stepping over backslash escapes.
pub(super) fn quoted_end(chars: &[char], start: usize, quote: char) -> usize {
    let mut j = start;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

/// If a raw string (`r"…"`, `r#"…"#`, `br"…"`, `cr"…"`) starts at
/// `chars[i]`, the index past it. (`r#name`, a raw identifier, is code.)
pub(super) fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if matches!(chars[j], 'b' | 'c') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    j += hashes;
    if chars.get(j) != Some(&'"') {
        return None;
    }
    for k in j + 1..chars.len() {
        let closes = chars[k] == '"'
            && chars
                .get(k + 1..k + 1 + hashes)
                .is_some_and(|tail| tail.iter().all(|&c| c == '#'));
        if closes {
            return Some(k + 1 + hashes);
        }
    }
    Some(chars.len())
}

pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// What the path reader needs to tell apart in code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind<'a> {
    /// An identifier, keyword or number.
    Word(&'a str),
    /// `::`
    PathSep,
    Open,
    Close,
    Comma,
    Other,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Token<'a> {
    kind: Kind<'a>,
    line: usize,
}

/// Splits code (already without comments and literals) into tokens.
pub(super) fn tokenize(code: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut chars = code.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let kind = match c {
            '\n' => {
                line += 1;
                continue;
            }
            c if c.is_whitespace() => continue,
            c if is_word_char(c) => {
                let mut end = start + c.len_utf8();
                while let Some((i, next)) = chars.next_if(|&(_, next)| is_word_char(next)) {
                    end = i + next.len_utf8();
                }
                Kind::Word(&code[start..end])
            }
            ':' if chars.next_if(|&(_, next)| next == ':').is_some() => Kind::PathSep,
            '{' => Kind::Open,
            '}' => Kind::Close,
            ',' => Kind::Comma,
            _ => Kind::Other,
        };
        tokens.push(Token { kind, line });
    }
    tokens
}

/// Each of the scope's modules that a path from the scope's root in `code`
/// names, with the line it is named on, in order.
pub(super) fn root_paths(code: &str, owner: &Owner, scope: &Scope) -> Vec<(String, usize)> {
    let tokens = tokenize(code);
    let kind = |k: usize| tokens.get(k).map(|token| token.kind);
    let mut found = Vec::new();
    let mut depth = 0_usize;
    // The brace depth at which each enclosing inline `mod name { … }` opened:
    // every one is one more level for `super::` to climb.
    let mut inline_modules: Vec<usize> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let after_root = match token.kind {
            Kind::Open => {
                depth += 1;
                let opens_module = i >= 2
                    && kind(i - 2) == Some(Kind::Word("mod"))
                    && matches!(kind(i - 1), Some(Kind::Word(_)));
                if opens_module {
                    inline_modules.push(depth);
                }
                None
            }
            Kind::Close => {
                if inline_modules.last() == Some(&depth) {
                    inline_modules.pop();
                }
                depth = depth.saturating_sub(1);
                None
            }
            // `crate` (also as `$crate`) in the library; the library's name
            // in the binary, whose own `crate` is not the library.
            Kind::Word(word) if owner.binary => (word == LIBRARY).then_some(i + 2),
            Kind::Word("crate") => through_prefix(&tokens, i + 2, scope.prefix),
            // `super::super::…` climbing past the top-level module reaches
            // the root; within it, `super::` is the module's own business.
            Kind::Word("super") if i == 0 || kind(i - 1) != Some(Kind::PathSep) => {
                let mut j = i;
                while kind(j) == Some(Kind::Word("super")) && kind(j + 1) == Some(Kind::PathSep) {
                    j += 2;
                }
                let climbed = (j - i) / 2;
                (climbed > owner.depth + inline_modules.len()).then_some(j)
            }
            _ => None,
        };
        if let Some(rest) = after_root.filter(|&rest| kind(rest - 1) == Some(Kind::PathSep)) {
            path_heads(&tokens, rest, &mut found);
        }
    }
    found
}

/// Where the rest of a path starting at `tokens[at]` begins once it has
/// gone through `prefix` (`db ::`), or `None` if it goes elsewhere. A
/// group (`crate::{db::x, y}`) is read as going elsewhere: the scope's
/// own code names its rooms one path at a time.
pub(super) fn through_prefix(
    tokens: &[Token<'_>],
    mut at: usize,
    prefix: &[&str],
) -> Option<usize> {
    for segment in prefix {
        let named = tokens.get(at).map(|token| token.kind) == Some(Kind::Word(segment));
        let then = tokens.get(at + 1).map(|token| token.kind) == Some(Kind::PathSep);
        if !(named && then) {
            return None;
        }
        at += 2;
    }
    Some(at)
}

/// Records the first segment of the path tree at `tokens[at]`: a name, or
/// a `{…}` group each of whose branches is such a tree.
pub(super) fn path_heads(tokens: &[Token<'_>], at: usize, found: &mut Vec<(String, usize)>) {
    match tokens.get(at).map(|token| token.kind) {
        Some(Kind::Word(name)) if name != "self" => {
            found.push((name.to_owned(), tokens[at].line));
        }
        Some(Kind::Open) => {
            for branch in group_branches(tokens, at) {
                path_heads(tokens, branch, found);
            }
        }
        _ => {}
    }
}

/// Where each comma-separated branch of the `{…}` group opening at
/// `tokens[open]` starts.
pub(super) fn group_branches(tokens: &[Token<'_>], open: usize) -> Vec<usize> {
    let mut starts = vec![open + 1];
    let mut depth = 0;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token.kind {
            Kind::Open => depth += 1,
            Kind::Close => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Kind::Comma if depth == 1 => starts.push(i + 1),
            _ => {}
        }
    }
    starts
}
