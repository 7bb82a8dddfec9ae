//! Admin commands: list and revoke sessions, rotate the signing key (also
//! in an emergency), re-encrypt keys under a new key-encryption key, delete
//! expired sessions. Each works on the configured database, beside
//! or without a running server, and prints a table or, with `--json`, one
//! JSON document.

use std::fmt::Write as _;

use serde_json::{Value, json};
use tessera::keys::{EmergencyRotation, KeyEncryptionKey};
use tessera::{CleanupReport, SessionInformation, SessionManager};

/// What an admin command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Text for standard output.
    pub output: String,
    /// Whether the command did what was asked (false: exit status 1).
    pub success: bool,
}

impl Outcome {
    fn done(output: String) -> Self {
        Self {
            output,
            success: true,
        }
    }
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

/// `tessera sessions list USER`: the user's live sessions, in every tenant.
pub async fn list_sessions(
    manager: &SessionManager,
    user_id: &str,
    as_json: bool,
) -> tessera::Result<Outcome> {
    let mut sessions = Vec::new();
    for handle in manager.get_all_session_handles_for_user(user_id).await? {
        // A session may expire or be revoked between the two reads.
        if let Some(info) = manager.get_session_information(&handle).await? {
            sessions.push(info);
        }
    }
    if as_json {
        let list: Vec<Value> = sessions.iter().map(session_json).collect();
        return Ok(Outcome::done(pretty(&Value::Array(list))));
    }
    if sessions.is_empty() {
        return Ok(Outcome::done(format!(
            "no live sessions for user {user_id}\n"
        )));
    }
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            vec![
                s.session_handle.clone(),
                s.tenant_id.clone(),
                format_ms(s.time_created_ms),
                format_ms(s.last_refreshed_ms),
                format_ms(s.expiry_ms),
            ]
        })
        .collect();
    Ok(Outcome::done(table(
        &["HANDLE", "TENANT", "CREATED", "LAST REFRESH", "EXPIRES"],
        &rows,
    )))
}

fn session_json(s: &SessionInformation) -> Value {
    json!({
        "sessionHandle": s.session_handle,
        "userId": s.user_id,
        "recipeUserId": s.recipe_user_id,
        "tenantId": s.tenant_id,
        "timeCreated": s.time_created_ms,
        "lastRefreshed": s.last_refreshed_ms,
        "expiry": s.expiry_ms,
        "absoluteExpiry": s.absolute_expiry_ms,
        "ip": s.metadata.ip,
        "userAgent": s.metadata.user_agent,
        "device": s.metadata.device,
    })
}

/// `tessera sessions revoke HANDLE`: revokes one session; not finding it is
/// a failure (exit status 1).
pub async fn revoke_session(
    manager: &SessionManager,
    handle: &str,
    as_json: bool,
) -> tessera::Result<Outcome> {
    let revoked = manager.revoke_session(handle).await?;
    let output = if as_json {
        pretty(&json!({"sessionHandle": handle, "revoked": revoked}))
    } else if revoked {
        format!("revoked session {handle}\n")
    } else {
        format!("no live session {handle}\n")
    };
    Ok(Outcome {
        output,
        success: revoked,
    })
}

/// `tessera sessions revoke-user USER`: revokes every session of a user, in
/// every tenant.
pub async fn revoke_user(
    manager: &SessionManager,
    user_id: &str,
    as_json: bool,
) -> tessera::Result<Outcome> {
    let revoked = manager.revoke_all_sessions_for_user(user_id).await?;
    let output = if as_json {
        pretty(&json!({"userId": user_id, "sessionHandlesRevoked": revoked}))
    } else {
        let mut s = format!("revoked {} session(s) of user {user_id}\n", revoked.len());
        for h in &revoked {
            let _ = writeln!(s, "  {h}");
        }
        s
    };
    Ok(Outcome::done(output))
}

/// `tessera keys rotate [--now]`: publishes a new signing key. Without
/// `--now` it starts signing after the publish lead (so JWKS caches see it
/// first); with `--now` at once. Older keys keep verifying until their
/// tokens expire (for a compromised key see [`emergency_rotate`]). Running
/// servers load it within their key-check interval (2 s).
pub async fn rotate_keys(
    manager: &SessionManager,
    immediately: bool,
    as_json: bool,
) -> tessera::Result<Outcome> {
    let kid = manager.rotate_signing_key(immediately).await?;
    let output = if as_json {
        pretty(&json!({"kid": kid, "signsImmediately": immediately}))
    } else if immediately {
        format!("new signing key {kid} published; it signs from now on\n")
    } else {
        format!(
            "new signing key {kid} published; it signs after {} s\n",
            manager.config().signing_key_publish_lead.as_secs()
        )
    };
    Ok(Outcome::done(output))
}

/// `tessera keys rotate --emergency [--mac]`: replaces every signing key
/// (dynamic and static) — and with `--mac` the refresh MAC key — deleting
/// the old ones: tokens they signed stop verifying here at once and in
/// running servers within their key-set check (2 s).
pub async fn emergency_rotate(
    manager: &SessionManager,
    refresh_mac: bool,
    as_json: bool,
) -> tessera::Result<Outcome> {
    let report = manager
        .emergency_rotate(EmergencyRotation {
            signing: true,
            refresh_mac,
        })
        .await?;
    let output = if as_json {
        pretty(&json!({
            "removed": report.removed,
            "added": report.added,
            "refreshMacRotated": refresh_mac,
        }))
    } else {
        let mut s = format!(
            "emergency rotation: deleted {} key(s), created {}\n",
            report.removed.len(),
            report.added.len()
        );
        for kid in &report.removed {
            let _ = writeln!(s, "  deleted {kid}");
        }
        for kid in &report.added {
            let _ = writeln!(s, "  created {kid}");
        }
        s.push_str(if refresh_mac {
            "every refresh and anti-CSRF token is now void: users sign in again\n"
        } else {
            "access tokens signed by the deleted keys are refused: clients refresh\n"
        });
        s
    };
    Ok(Outcome::done(output))
}

/// `tessera keys rewrap --new-kek-file FILE`: re-encrypts every key row
/// under the KEK in `FILE` in one transaction (the current KEK comes from
/// the environment, as for every command). Restart servers with the new KEK
/// afterwards.
pub async fn rewrap(
    manager: &SessionManager,
    new_kek_file: &std::path::Path,
    as_json: bool,
) -> tessera::Result<Outcome> {
    let new_kek = KeyEncryptionKey::from_file(new_kek_file)?;
    let old = manager.key_encryption_key_id();
    let report = manager.rewrap_keys(new_kek).await?;
    let output = if as_json {
        pretty(&json!({"rows": report.rows, "oldKekId": old, "newKekId": report.kek_id}))
    } else {
        format!(
            "re-encrypted {} key row(s) under key-encryption key {} (was {})\n\
             restart every server with the new key-encryption key\n",
            report.rows,
            report.kek_id,
            old.as_deref().unwrap_or("none: plain text"),
        )
    };
    Ok(Outcome::done(output))
}

/// `tessera cleanup`: deletes expired sessions and retired signing keys.
pub async fn cleanup(manager: &SessionManager, as_json: bool) -> tessera::Result<Outcome> {
    let CleanupReport {
        sessions_deleted,
        batches,
        keys_deleted,
        ..
    } = manager.run_cleanup().await?;
    let output = if as_json {
        pretty(&json!({
            "sessionsDeleted": sessions_deleted,
            "batches": batches,
            "keysDeleted": keys_deleted,
        }))
    } else {
        table(
            &[
                "EXPIRED SESSIONS DELETED",
                "BATCHES",
                "RETIRED KEYS DELETED",
            ],
            &[vec![
                sessions_deleted.to_string(),
                batches.to_string(),
                keys_deleted.to_string(),
            ]],
        )
    };
    Ok(Outcome::done(output))
}

/// A left-aligned text table with a header row.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (cell, w) in cells.zip(&widths) {
            let _ = write!(l, "{cell:<w$}  ");
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_as_utc_dates() {
        assert_eq!(format_ms(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_ms(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_ms(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn tables_align_columns() {
        let t = table(
            &["A", "LONGER"],
            &[
                vec!["xxxx".into(), "y".into()],
                vec!["z".into(), "w".into()],
            ],
        );
        assert_eq!(t, "A     LONGER\nxxxx  y\nz     w\n");
    }
}
