//! Random tokens, hashes and signatures.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// 256 bits from the OS CSPRNG, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `raw` has the form `random_token` gives: anything else was never
/// issued, and is refused before it is hashed or looked up.
pub fn is_token(raw: &str) -> bool {
    raw.len() == 43
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Tokens are stored only as this hash, so a database leak yields no
/// usable session or link.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Lower-case hex SHA-256, the form persisted-query hashes take.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// `payload` with an HMAC-SHA256 signature appended, both base64url.
pub fn sign(key: &[u8], payload: &[u8]) -> String {
    let mut m = mac(key);
    m.update(payload);
    let tag = m.finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The payload of a value made by `sign`, if its signature holds.
pub fn verify(key: &[u8], signed: &str) -> Option<Vec<u8>> {
    let (payload, tag) = signed.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    let mut m = mac(key);
    m.update(&payload);
    m.verify_slice(&tag).ok()?;
    Some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert!(is_token(&a));
        for bad in [
            "",
            "short",
            &format!("{}\0", &a[..42]),
            &format!("{a}x"),
            &a.replace(|_: char| true, "="),
        ] {
            assert!(!is_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn signatures_detect_tampering() {
        let signed = sign(b"key", b"payload");
        assert_eq!(verify(b"key", &signed).unwrap(), b"payload");
        assert!(verify(b"other", &signed).is_none());
        let mut tampered = signed.clone();
        tampered.replace_range(0..1, if signed.starts_with('A') { "B" } else { "A" });
        assert!(verify(b"key", &tampered).is_none());
    }
}
