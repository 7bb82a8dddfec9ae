//! Path normalisation before routing.
//!
//! An SDK builds each URL as `connection_uri + path`, so a connection URI
//! such as `http://core:3567/appid-shop` puts `/appid-shop` in front of
//! every path (SuperTokens core reads it as the app id, matching
//! `^/appid-[a-z0-9-]*` case-insensitively, and lower-cases it). The
//! prefix is removed and its app id handed to the app dispatcher
//! (`apps.rs`); without one the request goes to the `public` app. One
//! trailing `/` is dropped too, as the core's routes allow it.

use axum::extract::Request;
use axum::http::Uri;
use axum::http::uri::PathAndQuery;

/// Removes an `/appid-<id>` prefix and a trailing slash from the request
/// path (the query string is kept); returns the request and the app id of
/// the prefix, lower-cased (`None`: no prefix).
pub(crate) fn split_app(mut request: Request) -> (Request, Option<String>) {
    let app = app_id_of(request.uri().path());
    if let Some(uri) = normalised_uri(request.uri()) {
        *request.uri_mut() = uri;
    }
    (request, app)
}

/// The lower-cased app id of an `/appid-<id>` prefix, if any.
fn app_id_of(path: &str) -> Option<String> {
    let first = path.strip_prefix('/')?.split('/').next()?;
    is_app_id_segment(first).then(|| first[6..].to_ascii_lowercase())
}

fn normalised_uri(uri: &Uri) -> Option<Uri> {
    let path = normalised_path(uri.path())?;
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

/// The normalised path, or `None` when it is already normal.
fn normalised_path(path: &str) -> Option<&str> {
    let mut out = path;
    if let Some(rest) = path.strip_prefix('/') {
        let first = rest.split('/').next().unwrap_or_default();
        if is_app_id_segment(first) {
            out = &rest[first.len()..];
        }
    }
    if out.len() > 1 {
        out = out.strip_suffix('/').unwrap_or(out);
    }
    if out.is_empty() {
        out = "/";
    }
    (out != path).then_some(out)
}

fn is_app_id_segment(segment: &str) -> bool {
    let Some(prefix) = segment.get(..6) else {
        return false;
    };
    prefix.eq_ignore_ascii_case("appid-")
        && segment[6..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::{app_id_of, normalised_path};

    #[test]
    fn app_id_prefix_and_trailing_slash_are_removed() {
        assert_eq!(
            normalised_path("/appid-shop/public/recipe/session"),
            Some("/public/recipe/session")
        );
        assert_eq!(
            normalised_path("/AppId-Shop-2/recipe/session/verify/"),
            Some("/recipe/session/verify")
        );
        assert_eq!(normalised_path("/appid-shop"), Some("/"));
        assert_eq!(normalised_path("/appid-shop/"), Some("/"));
        assert_eq!(normalised_path("/hello/"), Some("/hello"));
    }

    #[test]
    fn the_app_id_is_read_lower_cased() {
        assert_eq!(
            app_id_of("/AppId-Shop-2/recipe/session"),
            Some("shop-2".to_owned())
        );
        assert_eq!(app_id_of("/appid-/hello"), Some(String::new()));
        assert_eq!(app_id_of("/recipe/session"), None);
        assert_eq!(app_id_of("/appid_x/hello"), None);
    }

    #[test]
    fn other_paths_are_left_alone() {
        assert_eq!(normalised_path("/recipe/session"), None);
        assert_eq!(normalised_path("/"), None);
        assert_eq!(normalised_path("/appid_x/hello"), None);
        assert_eq!(normalised_path("/appid-x.y/hello"), None);
        assert_eq!(normalised_path("/app/hello"), None);
        assert_eq!(normalised_path("/é€/hello"), None);
    }
}
