//! `page` and `per_page`, as `/blog` and `/account/events` take them, and
//! `/blog`'s `after` (a cursor).

use crate::db::posts::Start;
use crate::domain::post::Cursor;
use crate::domain::text;
use crate::error::ApiError;

/// `page` (≥ 1, default 1) and `per_page` (1–100, default 20).
pub struct Pagination {
    pub page: i64,
    pub per_page: i64,
}

/// The parameter `name` of a query string, when given: `Ok(None)` when
/// absent, `Err(())` when given more than once. A query string that is not
/// one is `422` on `query`, as for `page`; a value holding U+0000 (`%00`)
/// is `422` on `name`, as a body's text is (`domain::text`).
pub fn single(query: &str, name: &str) -> Result<Result<Option<String>, ()>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| ApiError::field("query", "is not a valid query string"))?;
    let mut given = pairs.into_iter().filter(|(k, _)| k == name);
    Ok(match (given.next(), given.next()) {
        (None, _) => Ok(None),
        (Some((_, value)), None) => {
            text::without_nul(&value).map_err(|rule| ApiError::field(name, rule))?;
            Ok(Some(value))
        }
        (Some(_), Some(_)) => Err(()),
    })
}

pub fn pagination(query: &str) -> Result<Pagination, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| ApiError::field("query", "is not a valid query string"))?;
    let mut errors = std::collections::BTreeMap::new();
    let mut read = |name: &str, default: i64, max: i64| -> i64 {
        let values: Vec<&String> = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .collect();
        match values.as_slice() {
            [] => default,
            [one] => match one.parse::<i64>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    let rule = if max == i64::MAX {
                        "must be a whole number of at least 1".to_owned()
                    } else {
                        format!("must be a whole number from 1 to {max}")
                    };
                    errors.insert(name.to_owned(), rule);
                    default
                }
            },
            _ => {
                errors.insert(name.to_owned(), "must be given once".to_owned());
                default
            }
        }
    };
    // Pages past 10^9 are refused rather than overflowing an offset.
    let page = read("page", 1, 1_000_000_000);
    let per_page = read("per_page", 20, 100);
    if errors.is_empty() {
        Ok(Pagination { page, per_page })
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Where a page of `/blog` starts, and how long it is.
pub struct Listing {
    pub start: Start,
    pub per_page: i64,
}

/// `/blog`'s query: `page` or `after` (a cursor a `next` handed out),
/// never both, and `per_page` (`422` naming what is wrong).
pub fn listing(query: &str) -> Result<Listing, ApiError> {
    let Pagination { page, per_page } = pagination(query)?;
    let start = match single(query, "after")? {
        Ok(None) => Start::Page(page),
        Ok(Some(_)) if single(query, "page")? != Ok(None) => {
            return Err(ApiError::field("after", "cannot be given with page"));
        }
        Ok(Some(text)) => Start::After(Cursor::parse(&text).ok_or_else(|| {
            ApiError::field("after", "is not a cursor this server handed out (`next`)")
        })?),
        Err(()) => return Err(ApiError::field("after", "must be given once")),
    };
    Ok(Listing { start, per_page })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_starts_at_a_page_or_after_a_cursor_never_both() {
        let after = Cursor {
            published_at: 1_764_100_000,
            id: 7,
        }
        .encode();
        assert!(matches!(listing("").unwrap().start, Start::Page(1)));
        let listed = listing(&format!("after={after}&per_page=5")).unwrap();
        assert!(matches!(listed.start, Start::After(c) if c.id == 7));
        assert_eq!(listed.per_page, 5);
        for bad in [
            format!("after={after}&page=1"),
            format!("after={after}&after={after}"),
            "after=nonsense".to_owned(),
            "after=".to_owned(),
            format!("after={after}&per_page=0"),
        ] {
            assert!(
                matches!(listing(&bad), Err(ApiError::Validation(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn pagination_defaults_and_bounds() {
        let p = pagination("").unwrap();
        assert_eq!((p.page, p.per_page), (1, 20));
        let p = pagination("page=2&per_page=100&other=x").unwrap();
        assert_eq!((p.page, p.per_page), (2, 100));
        for bad in [
            "page=0",
            "per_page=101",
            "per_page=0",
            "page=abc",
            "page=1&page=2",
            "page=-1",
        ] {
            assert!(
                matches!(pagination(bad), Err(ApiError::Validation(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_single_value_holding_nul_is_422_on_its_name() {
        match single("q=a%00b", "q") {
            Err(ApiError::Validation(errors)) => assert_eq!(errors["q"], text::NO_NUL),
            other => panic!("expected a validation error, got {:?}", other.map(|_| ())),
        }
        assert_eq!(
            single("q=a%2500b", "q").unwrap(),
            Ok(Some("a%00b".to_owned()))
        );
        assert_eq!(single("other=%00", "q").unwrap(), Ok(None));
    }

    proptest::proptest! {
        #[test]
        fn any_query_string_gives_bounds_or_a_422(raw in "\\PC{0,60}|(page|per_page)=[0-9a-z%-]{0,12}(&(page|per_page)=[0-9-]{0,12})?") {
            match pagination(&raw) {
                Ok(p) => {
                    proptest::prop_assert!(p.page >= 1);
                    proptest::prop_assert!((1..=100).contains(&p.per_page));
                }
                Err(e) => proptest::prop_assert!(matches!(e, ApiError::Validation(_))),
            }
        }
    }
}
