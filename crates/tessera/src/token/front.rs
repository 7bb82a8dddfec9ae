//! The `front-token` header value: what supertokens-website knows of a
//! session without reading the (HttpOnly) access token.
//!
//! Standard base64 (with padding, not URL-safe) of the compact JSON
//! `{"ate": <access-token expiry, ms>, "uid": <user id>, "up": <full payload>}`.

use serde_json::{Map, Value};

use crate::crypto::b64std;

/// Builds the front token.
///
/// ```
/// let front = tessera::token::front::front_token("user-1", 1_700_000_000_000, &serde_json::Map::new());
/// assert!(!front.contains('-') && !front.contains('_'));
/// ```
pub fn front_token(
    user_id: &str,
    access_token_expiry_ms: u64,
    full_payload: &Map<String, Value>,
) -> String {
    // serde_json's Map is ordered by key, so the JSON is key-sorted like the
    // SuperTokens SDKs' (the browser does not depend on the order).
    let json = serde_json::json!({
        "ate": access_token_expiry_ms,
        "uid": user_id,
        "up": full_payload,
    });
    b64std(json.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn front_token_is_standard_base64_of_sorted_compact_json() {
        let mut up = Map::new();
        up.insert("sub".into(), Value::from("u"));
        up.insert("iat".into(), Value::from(1));
        let t = front_token("u", 5000, &up);
        let raw = base64::engine::general_purpose::STANDARD.decode(t).unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            r#"{"ate":5000,"uid":"u","up":{"iat":1,"sub":"u"}}"#
        );
    }
}
