//! A user table in SQLite with argon2id password hashes (PHC strings).
//!
//! - Hashes are made by the RustCrypto `argon2` crate with its default
//!   parameters (argon2id, 19 MiB, 2 passes: OWASP's minimum) and a 128-bit
//!   salt from the OS CSPRNG, and stored as PHC strings
//!   (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so the parameters
//!   travel with each hash and can be raised later.
//! - Verification recomputes the hash with the stored parameters and
//!   compares in constant time (`password-hash`'s `Output` equality).
//! - An unknown email is checked against a dummy hash made at start, so a
//!   wrong email costs the same time as a wrong password.

use std::path::Path;

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use sqlx::Row as _;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::Error;

/// Longest accepted email (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in bytes (argon2 takes any length; this only
/// bounds the work one request can ask for).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A signed-in user as the login handler needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The id sessions are created for (random, not the email).
    pub id: String,
    /// Role names, put into the access-token payload at login.
    pub roles: Vec<String>,
}

/// The user table.
#[derive(Debug, Clone)]
pub struct UserStore {
    pool: SqlitePool,
    dummy_hash: String,
}

impl UserStore {
    /// Opens (creating if needed) the SQLite file at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS users (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                roles TEXT NOT NULL DEFAULT ''
            )",
        )
        .execute(&pool)
        .await?;
        let dummy_hash = hash_password("not a real password, only a timing twin")?;
        Ok(Self { pool, dummy_hash })
    }

    /// Adds a user; `roles` are stored comma-separated. Returns the new id.
    pub async fn create_user(
        &self,
        email: &str,
        password: &str,
        roles: &[&str],
    ) -> Result<String, Error> {
        let email = normalise_email(email)?;
        check_password(password)?;
        if roles.iter().any(|r| r.is_empty() || r.contains(',')) {
            return Err(Error::BadInput(
                "role names must be non-empty, without commas",
            ));
        }
        let hash = hash_password(password)?;
        let id = new_user_id();
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, password_hash, roles) VALUES (?, ?, ?, ?)
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(&id)
        .bind(&email)
        .bind(&hash)
        .bind(roles.join(","))
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(Error::EmailTaken);
        }
        Ok(id)
    }

    /// The user whose email and password match, or
    /// [`Error::WrongCredentials`] (the same answer, after the same work,
    /// for an unknown email and a wrong password).
    pub async fn verify(&self, email: &str, password: &str) -> Result<User, Error> {
        let (Ok(email), Ok(())) = (normalise_email(email), check_password(password)) else {
            return Err(Error::WrongCredentials);
        };
        let row = sqlx::query("SELECT id, password_hash, roles FROM users WHERE email = ?")
            .bind(&email)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            // Same work as a real check, then the same answer.
            let _ = verify_password(&self.dummy_hash, password);
            return Err(Error::WrongCredentials);
        };
        let stored: String = row.try_get("password_hash")?;
        if !verify_password(&stored, password)? {
            return Err(Error::WrongCredentials);
        }
        let roles: String = row.try_get("roles")?;
        Ok(User {
            id: row.try_get("id")?,
            roles: roles
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// An argon2id PHC string for `password` with a fresh CSPRNG salt.
pub fn hash_password(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the PHC string `phc` (constant-time compare;
/// the parameters come from the string). A stored hash that is malformed or
/// not argon2id is an error, not a mismatch: only the algorithm these
/// hashes are made with is accepted.
pub fn verify_password(phc: &str, password: &str) -> Result<bool, Error> {
    let parsed = PasswordHash::new(phc)?;
    if parsed.algorithm != argon2::ARGON2ID_IDENT || parsed.salt.is_none() || parsed.hash.is_none()
    {
        return Err(Error::Hash(
            "stored hash is not an argon2id PHC string".into(),
        ));
    }
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn normalise_email(email: &str) -> Result<String, Error> {
    let email = email.trim().to_lowercase();
    if email.is_empty() || email.len() > MAX_EMAIL_BYTES || !email.contains('@') {
        return Err(Error::BadInput("email must look like name@host"));
    }
    Ok(email)
}

fn check_password(password: &str) -> Result<(), Error> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::BadInput(
            "password must have 8 to 1024 bytes (at least 8 characters)",
        ));
    }
    Ok(())
}

fn new_user_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
