//! Signature types, key IDs, verifier keys and signer keys in the text
//! encodings of C2SP signed-note and golang.org/x/mod/sumdb/note.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer as _, SigningKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

use crate::ed25519::{decode_public_key, verify_with_key, PUBLIC_KEY_SIZE, SIGNATURE_SIZE};
use crate::encoding::{decode_base64, decode_lower_hex, encode_base64};
use crate::signed_note::Signature;
use crate::Error;

/// The literal prefix of a signer key.
const SIGNER_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// The note signature types this crate implements. ECDSA (0x02), RFC 6962
/// (0x05), ML-DSA-44 (0x06) and other types are not verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// Type 0x01: Ed25519 over the note text (C2SP signed-note).
    Ed25519,
    /// Type 0x04: timestamped Ed25519 checkpoint cosignatures
    /// (C2SP tlog-cosignature, `cosignature/v1`).
    CosignatureV1,
}

impl Algorithm {
    /// The signature type identifier byte.
    pub fn type_byte(self) -> u8 {
        match self {
            Algorithm::Ed25519 => 0x01,
            Algorithm::CosignatureV1 => 0x04,
        }
    }

    /// The algorithm with signature type identifier byte `byte`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownAlgorithm`] for any other type than 0x01 and 0x04.
    pub fn from_type_byte(byte: u8) -> Result<Self, Error> {
        match byte {
            0x01 => Ok(Algorithm::Ed25519),
            0x04 => Ok(Algorithm::CosignatureV1),
            algorithm => Err(Error::UnknownAlgorithm { algorithm }),
        }
    }

    /// Checks that a key of this type is a `want` key.
    pub(crate) fn require(self, want: Algorithm) -> Result<(), Error> {
        if self != want {
            return Err(Error::WrongKeyType { got: self, want });
        }
        Ok(())
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Ed25519 => "Ed25519",
            Algorithm::CosignatureV1 => "cosignature/v1",
        })
    }
}

/// The key ID of a key: the first four bytes, big-endian, of
/// `SHA-256(name || 0x0A || type || public key)`.
pub fn key_id(name: &str, algorithm: Algorithm, public: &[u8; PUBLIC_KEY_SIZE]) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', algorithm.type_byte()])
        .chain_update(public)
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Checks a key name: non-empty, without Unicode spaces or plus signs.
pub(crate) fn check_key_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '+') {
        return Err(Error::BadKeyName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// A public key that verifies note signatures, with its name and key ID.
///
/// Its text form (`FromStr` and `Display`) is the C2SP verifier key
/// `<name>+<hex key ID>+<base64(type || public key)>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    algorithm: Algorithm,
    /// Decoded once, when the key is made: verifying does not decode it again.
    public: ed25519_dalek::VerifyingKey,
}

impl VerifierKey {
    /// The verifier key for an Ed25519 public key, named `name`.
    ///
    /// # Errors
    ///
    /// [`Error::BadKeyName`], or a key error of
    /// [`check_public_key`](crate::ed25519::check_public_key).
    pub fn new(
        name: &str,
        algorithm: Algorithm,
        public: [u8; PUBLIC_KEY_SIZE],
    ) -> Result<Self, Error> {
        check_key_name(name)?;
        let decoded = decode_public_key(&public)?;
        Ok(VerifierKey {
            name: name.to_owned(),
            key_id: key_id(name, algorithm, &public),
            algorithm,
            public: decoded,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature type.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8; PUBLIC_KEY_SIZE] {
        self.public.as_bytes()
    }

    /// Whether `signature` claims to be by this key (same name and key ID).
    pub fn matches(&self, signature: &Signature) -> bool {
        signature.name == self.name && signature.key_id == self.key_id
    }

    /// Verifies a raw Ed25519 signature of `message` by this key, with
    /// [`verify_ed25519`](crate::ed25519::verify_ed25519).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSignature`] naming this key when it does not verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        verify_with_key(&self.public, message, signature).map_err(|_| Error::InvalidSignature {
            name: self.name.clone(),
            key_id: self.key_id,
        })
    }
}

/// The parts of `name+hexid+base64(type||key)`, split from the left since the
/// base64 may itself contain `+`.
struct KeyText {
    name: String,
    key_id: u32,
    algorithm: Algorithm,
    material: [u8; 32],
}

impl KeyText {
    fn parse(s: &str, malformed: Error, what: &'static str) -> Result<Self, Error> {
        let (name, rest) = s.split_once('+').ok_or(malformed.clone())?;
        let (id_hex, material) = rest.split_once('+').ok_or(malformed)?;
        check_key_name(name)?;
        let key_id = u32::from_be_bytes(decode_lower_hex::<4>(id_hex, "key id")?);
        let material = decode_base64(material, what)?;
        let (&type_byte, key) = material.split_first().ok_or(Error::WrongLength {
            what,
            got: 0,
            want: 1 + PUBLIC_KEY_SIZE,
        })?;
        let algorithm = Algorithm::from_type_byte(type_byte)?;
        let material = key.try_into().map_err(|_| Error::WrongLength {
            what,
            got: material.len(),
            want: 1 + PUBLIC_KEY_SIZE,
        })?;
        Ok(KeyText {
            name: name.to_owned(),
            key_id,
            algorithm,
            material,
        })
    }

    fn to_text(&self) -> String {
        let mut material = vec![self.algorithm.type_byte()];
        material.extend_from_slice(&self.material);
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_base64(&material)
        )
    }
}

fn check_key_id(name: &str, got: u32, want: u32) -> Result<(), Error> {
    if got != want {
        return Err(Error::KeyIdMismatch {
            name: name.to_owned(),
            got,
            want,
        });
    }
    Ok(())
}

impl FromStr for VerifierKey {
    type Err = Error;

    /// Parses a verifier key, accepting only its canonical encoding and only
    /// Ed25519 (0x01) and cosignature/v1 (0x04) keys that are not weak.
    fn from_str(s: &str) -> Result<Self, Error> {
        let text = KeyText::parse(s, Error::MalformedVerifierKey, "verifier key")?;
        let key = VerifierKey::new(&text.name, text.algorithm, text.material)?;
        check_key_id(&key.name, text.key_id, key.key_id)?;
        Ok(key)
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = KeyText {
            name: self.name.clone(),
            key_id: self.key_id,
            algorithm: self.algorithm,
            material: *self.public.as_bytes(),
        };
        f.write_str(&text.to_text())
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

/// A private key that signs notes, with its name and key ID.
///
/// Its text form is the golang.org/x/mod/sumdb/note signer key
/// `PRIVATE+KEY+<name>+<hex key ID>+<base64(type || 32-byte seed)>`, written
/// only by [`SignerKey::to_text`]: neither `Debug` nor any error ever shows
/// the seed.
#[derive(Clone)]
pub struct SignerKey {
    verifier: VerifierKey,
    signing: SigningKey,
}

impl SignerKey {
    /// A new random key named `name`.
    ///
    /// # Errors
    ///
    /// [`Error::BadKeyName`].
    pub fn generate(
        name: &str,
        algorithm: Algorithm,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self::from_seed(name, algorithm, &seed)
    }

    /// The key named `name` with the RFC 8032 private key (seed) `seed`.
    ///
    /// # Errors
    ///
    /// [`Error::BadKeyName`].
    pub fn from_seed(name: &str, algorithm: Algorithm, seed: &[u8; 32]) -> Result<Self, Error> {
        let signing = SigningKey::from_bytes(seed);
        let verifier = VerifierKey::new(name, algorithm, signing.verifying_key().to_bytes())?;
        Ok(SignerKey { verifier, signing })
    }

    /// The signer key text, `PRIVATE+KEY+name+hexid+base64(type||seed)`.
    /// It is a secret.
    pub fn to_text(&self) -> String {
        let text = KeyText {
            name: self.verifier.name.clone(),
            key_id: self.verifier.key_id,
            algorithm: self.verifier.algorithm,
            material: self.signing.to_bytes(),
        };
        format!("{SIGNER_KEY_PREFIX}{}", text.to_text())
    }

    /// The matching verifier key.
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The key name.
    pub fn name(&self) -> &str {
        self.verifier.name()
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.verifier.key_id()
    }

    /// The signature type.
    pub fn algorithm(&self) -> Algorithm {
        self.verifier.algorithm()
    }

    /// The raw Ed25519 signature of `message` (deterministic, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_SIZE] {
        self.signing.sign(message).to_bytes()
    }
}

impl FromStr for SignerKey {
    type Err = Error;

    /// Parses a signer key, accepting only its canonical encoding.
    fn from_str(s: &str) -> Result<Self, Error> {
        let rest = s
            .strip_prefix(SIGNER_KEY_PREFIX)
            .ok_or(Error::MalformedSignerKey)?;
        let text = KeyText::parse(rest, Error::MalformedSignerKey, "signer key")?;
        let key = SignerKey::from_seed(&text.name, text.algorithm, &text.material)?;
        check_key_id(key.name(), text.key_id, key.key_id())?;
        Ok(key)
    }
}

impl PartialEq for SignerKey {
    fn eq(&self, other: &Self) -> bool {
        self.verifier == other.verifier && self.signing.to_bytes() == other.signing.to_bytes()
    }
}

impl Eq for SignerKey {}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed_note::Note;

    #[test]
    fn two_trusted_keys_with_one_name_and_id_are_ambiguous() {
        let signer = SignerKey::from_seed("log", Algorithm::Ed25519, &[1; 32]).unwrap();
        let note = Note::sign("text\n", &[&signer]).unwrap();
        let other = SignerKey::from_seed("log", Algorithm::Ed25519, &[2; 32]).unwrap();
        // A key ID collision, which a 32-bit ID makes cheap to find.
        let colliding = VerifierKey {
            key_id: signer.key_id(),
            ..other.verifier_key().clone()
        };
        let keys = [signer.verifier_key().clone(), colliding];
        assert_eq!(
            note.verify(&keys),
            Err(Error::AmbiguousKey {
                name: "log".to_owned(),
                key_id: signer.key_id(),
                count: 2
            })
        );
        assert_eq!(note.verify(&keys[..1]).unwrap(), vec![&keys[0]]);
    }

    #[test]
    fn debug_never_shows_the_seed() {
        let signer = SignerKey::from_seed("log", Algorithm::Ed25519, &[7; 32]).unwrap();
        let seed_base64 = encode_base64(&[7; 32]);
        let debug = format!("{signer:?}");
        assert!(debug.contains("log+"), "{debug}");
        assert!(!debug.contains(&seed_base64[..20]), "{debug}");
        assert!(!debug.contains("[7, 7"), "{debug}");
        assert!(signer.to_text().contains(&seed_base64[..20]));
    }
}
