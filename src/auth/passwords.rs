//! Password hashing: argon2id with the baseline's parameters, run on the
//! blocking pool behind a semaphore so a burst of sign-ins queues there
//! instead of starving the async workers.

use std::sync::{Arc, OnceLock};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when an email has no account or no password, so
    /// that answer takes as long as a wrong password.
    dummy_hash: Arc<OnceLock<String>>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS random source is available");
    let salt = SaltString::encode_b64(&salt)?;
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

impl Passwords {
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: Arc::new(OnceLock::new()),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> AppResult<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::internal(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::internal(format!("password task failed: {e}")))
    }

    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let password = password.to_owned();
        self.run(move || hash_blocking(&password))
            .await?
            .map_err(|e| AppError::internal(format!("cannot hash a password: {e}")))
    }

    /// Whether `password` matches `hash`; with no hash, the same work is done
    /// against a dummy and the answer is no.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> AppResult<bool> {
        let password = password.to_owned();
        let known = hash.map(str::to_owned);
        let dummy = self.dummy_hash.clone();
        self.run(move || {
            let hash = match &known {
                Some(hash) => hash.as_str(),
                None => dummy.get_or_init(|| {
                    hash_blocking(&crate::crypto::random_token()).expect("dummy hash")
                }),
            };
            let ok = PasswordHash::new(hash)
                .map(|parsed| {
                    argon2()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            ok && known.is_some()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_the_baseline_parameters() {
        let passwords = Passwords::new(1);
        let hash = passwords.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            passwords
                .verify("correct horse", Some(&hash))
                .await
                .unwrap()
        );
        assert!(!passwords.verify("wrong horse", Some(&hash)).await.unwrap());
        assert!(!passwords.verify("correct horse", None).await.unwrap());
    }
}
