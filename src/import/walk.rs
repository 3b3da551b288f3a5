//! The files an import reads: each path given, and every Markdown file
//! below each folder given, in a fixed order so that two runs over the
//! same folders import the same files in the same order.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A path to import, or one that cannot be.
pub type Found = Result<PathBuf, (PathBuf, io::Error)>;

/// `paths` in the order given, each folder replaced by the Markdown files
/// below it ([`is_markdown`]), depth first, each folder's entries sorted
/// by name. A file given by name is read whatever its name. A path that
/// does not exist, or a folder that cannot be listed, is an `Err` naming
/// it, in its place.
///
/// Inside a folder, names that start with `.` (`.git`, an editor's
/// `.#draft.md` lock) are skipped, as Jekyll and Hugo skip them, and a
/// symbolic link is followed to a file but not to a folder, so a link back
/// up the tree cannot make the walk go round for ever.
pub fn files(paths: &[PathBuf]) -> Vec<Found> {
    let mut found = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut found),
            Ok(_) => found.push(Ok(path.clone())),
            Err(e) => found.push(Err((path.clone(), e))),
        }
    }
    found
}

fn walk(folder: &Path, found: &mut Vec<Found>) {
    let entries = fs::read_dir(folder).and_then(|entries| {
        entries
            .map(|entry| {
                let entry = entry?;
                Ok((entry.file_name(), entry.file_type()?))
            })
            .collect::<io::Result<Vec<_>>>()
    });
    let mut entries = match entries {
        Ok(entries) => entries,
        Err(e) => return found.push(Err((folder.to_owned(), e))),
    };
    entries.sort_by(|(a, _), (b, _)| a.cmp(b));
    for (name, kind) in entries {
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let path = folder.join(&name);
        if kind.is_dir() {
            walk(&path, found);
        } else if is_markdown(&path) && (kind.is_file() || path.is_file()) {
            found.push(Ok(path));
        }
    }
}

/// `*.md` and `*.markdown`, in any case.
pub fn is_markdown(path: &Path) -> bool {
    path.extension().is_some_and(|extension| {
        extension.eq_ignore_ascii_case("md") || extension.eq_ignore_ascii_case("markdown")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "").unwrap();
    }

    /// The found paths, relative to `root`, or `!path` for an error.
    fn relative(root: &Path, found: Vec<Found>) -> Vec<String> {
        found
            .into_iter()
            .map(|found| match found {
                Ok(path) => path.strip_prefix(root).unwrap().display().to_string(),
                Err((path, _)) => format!("!{}", path.strip_prefix(root).unwrap().display()),
            })
            .collect()
    }

    #[test]
    fn a_folder_gives_its_markdown_files_below_it_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in [
            "posts/b.md",
            "posts/a.markdown",
            "posts/2024/z.md",
            "posts/2024/notes.txt",
            "posts/2023/old.MD",
            "posts/.git/x.md",
            "posts/.#b.md",
            "posts/image.png",
        ] {
            touch(&root.join(name));
        }

        let found = files(&[root.join("posts")]);

        assert_eq!(
            relative(root, found),
            [
                "posts/2023/old.MD",
                "posts/2024/z.md",
                "posts/a.markdown",
                "posts/b.md"
            ]
        );
    }

    #[test]
    fn paths_keep_their_order_and_a_named_file_is_read_whatever_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("z.txt"));
        touch(&root.join("posts/a.md"));

        let found = files(&[root.join("z.txt"), root.join("missing"), root.join("posts")]);

        assert_eq!(relative(root, found), ["z.txt", "!missing", "posts/a.md"]);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_to_files_but_not_to_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("elsewhere/linked.md"));
        touch(&root.join("posts/a.md"));
        std::os::unix::fs::symlink(root.join("elsewhere/linked.md"), root.join("posts/b.md"))
            .unwrap();
        std::os::unix::fs::symlink(root.join("posts"), root.join("posts/loop")).unwrap();

        let found = files(&[root.join("posts")]);

        assert_eq!(relative(root, found), ["posts/a.md", "posts/b.md"]);
    }
}
