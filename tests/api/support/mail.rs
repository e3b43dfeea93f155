//! Reading the mail a test server wrote with `MAIL_URL=file:DIR`.

use std::{path::PathBuf, time::Duration};

pub struct Mailbox {
    pub dir: PathBuf,
}

impl Mailbox {
    pub fn new() -> Self {
        let dir = std::env::temp_dir()
            .join("groundwork-tests")
            .join(format!("mail-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("create the mailbox folder");
        Self { dir }
    }

    /// The files written so far, to tell later messages from them.
    pub fn snapshot(&self) -> std::collections::HashSet<PathBuf> {
        std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    /// Waits up to 10 s for a message to `to` holding `needle` that was not
    /// there at `before`. Unlike counting messages, this does not depend on
    /// the order of files written in the same instant.
    pub async fn wait_for_new(
        &self,
        to: &str,
        needle: &str,
        before: &std::collections::HashSet<PathBuf>,
    ) -> String {
        for _ in 0..200 {
            for path in self.snapshot().difference(before) {
                if path.extension().is_none_or(|e| e != "eml") {
                    continue;
                }
                let Ok(raw) = std::fs::read_to_string(path) else {
                    continue;
                };
                let message = decode_parts(&raw);
                // A file still being written lacks the end of its HTML part.
                let complete = message.contains("</html>");
                if complete && message.contains(&format!("To: {to}")) && message.contains(needle) {
                    return message;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new message to {to} containing {needle:?}");
    }

    /// Every message so far, decoded, oldest first.
    pub fn all(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|raw| decode_parts(&raw))
            .collect()
    }

    /// Messages to `to` whose text holds `needle`.
    pub fn find(&self, to: &str, needle: &str) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|m| m.contains(&format!("To: {to}")) && m.contains(needle))
            .collect()
    }

    /// Waits up to 10 s for the `n`-th (1-based) message to `to` holding `needle`.
    pub async fn wait_for(&self, to: &str, needle: &str, n: usize) -> String {
        for _ in 0..200 {
            let found = self.find(to, needle);
            if found.len() >= n {
                return found[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no message {n} to {to} containing {needle:?}; have: {:#?}",
            self.all()
        );
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `token` query parameter of the first link to `path` in a message.
pub fn link_token(message: &str, path: &str) -> String {
    let start = message
        .find(&format!("{path}?token="))
        .unwrap_or_else(|| panic!("no link to {path} in {message}"));
    message[start + path.len() + "?token=".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The message with each MIME part's body decoded by its own
/// Content-Transfer-Encoding, so tests can search the text as sent.
fn decode_parts(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    // Split on the message's own boundaries: a bare "--" at a line start can
    // be part of an encoded body (a token wrapped by quoted-printable).
    let boundaries: Vec<String> = raw
        .match_indices("boundary=\"")
        .filter_map(|(i, m)| {
            let rest = &raw[i + m.len()..];
            rest.find('"').map(|end| format!("\n--{}", &rest[..end]))
        })
        .collect();
    let mut chunks = vec![raw.clone()];
    for boundary in &boundaries {
        chunks = chunks
            .iter()
            .flat_map(|c| {
                c.split(boundary.as_str())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    let mut out = String::new();
    for chunk in &chunks {
        let (head, body) = chunk.split_once("\n\n").unwrap_or((chunk.as_str(), ""));
        let lower = head.to_ascii_lowercase();
        let body = if lower.contains("content-transfer-encoding: quoted-printable") {
            decode_quoted_printable(body)
        } else if lower.contains("content-transfer-encoding: base64") {
            use base64::Engine;
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(&compact)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|_| body.to_owned())
        } else {
            body.to_owned()
        };
        out.push_str(head);
        out.push_str("\n\n");
        out.push_str(&body);
        out.push_str("\n--");
    }
    out
}

fn decode_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
