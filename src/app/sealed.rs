//! Secrets the server must use again but never store in clear (webhook signing secrets): sealed
//! with AES-256-GCM (`ring`, already the TLS stack's) under a key from `WEBHOOK_SECRET_KEY`, a
//! fresh random nonce each time. The database holds `sealed:v1:<base64(nonce ‖ ciphertext)>`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use sha2::{Digest, Sha256};

const PREFIX: &str = "sealed:v1:";
/// Shortest `WEBHOOK_SECRET_KEY` accepted (random text; its SHA-256 is the AES key).
pub const MIN_KEY_CHARS: usize = 32;

pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// The sealer of a configured key text (at least `MIN_KEY_CHARS` characters).
    pub fn from_text(text: &str) -> anyhow::Result<Sealer> {
        if text.chars().count() < MIN_KEY_CHARS {
            anyhow::bail!("WEBHOOK_SECRET_KEY must be at least {MIN_KEY_CHARS} characters of random text");
        }
        let digest = Sha256::digest(text.as_bytes());
        let key = UnboundKey::new(&AES_256_GCM, &digest).map_err(|_| anyhow::anyhow!("the sealing key is unusable"))?;
        Ok(Sealer { key: LessSafeKey::new(key) })
    }

    pub fn seal(&self, secret: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|err| anyhow::anyhow!("no randomness for a nonce: {err}"))?;
        let mut sealed = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed)
            .map_err(|_| anyhow::anyhow!("a secret could not be sealed"))?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(stored)))
    }

    /// The secret a stored value holds; `None` if it is not one sealed under this key.
    pub fn open(&self, stored: &str) -> Option<String> {
        let bytes = STANDARD.decode(stored.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let opened = self.key.open_in_place(nonce, Aad::empty(), &mut sealed).ok()?;
        String::from_utf8(opened.to_vec()).ok()
    }

    /// Whether a stored value is sealed (older rows hold the secret in clear until resealed).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_under_its_key_and_never_shows_in_clear() {
        let sealer = Sealer::from_text("an example key of thirty-two or more chars").expect("sealer");
        let sealed = sealer.seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("sealed");
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("MfKQ9r8"), "{sealed}");
        assert_ne!(sealed, sealer.seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("again"), "fresh nonces");
        assert_eq!(sealer.open(&sealed).as_deref(), Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        let other = Sealer::from_text("another key, also thirty-two characters long").expect("sealer");
        assert_eq!(other.open(&sealed), None);
        let mut tampered = sealed.clone();
        tampered.replace_range(tampered.len() - 4.., "AAAA");
        assert_eq!(sealer.open(&tampered), None);
        assert!(Sealer::from_text("short").is_err());
    }
}
