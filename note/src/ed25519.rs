//! The Ed25519 acceptance rule: one function every signature check in
//! sigtrail goes through (see `docs/spec/ed25519.md`).
//!
//! A public key is accepted only if it is the canonical encoding of a curve
//! point that is not of small order. A signature is accepted only if
//! ed25519-dalek's `verify_strict` accepts it: 64 bytes, `S` reduced below
//! the group order, `R` canonical and not of small order, and the
//! unbatched, cofactorless equation `[S]B = R + [k]A`. `verify_with_key`
//! decides exactly that with one field exponentiation instead of two; the
//! tests hold it to `verify_strict`.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

use curve25519_dalek::{EdwardsPoint, Scalar};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest as _, Sha512};

use crate::Error;

/// Size in bytes of an Ed25519 public key.
pub const PUBLIC_KEY_SIZE: usize = 32;

/// Size in bytes of an Ed25519 signature.
pub const SIGNATURE_SIZE: usize = 64;

/// Checks that `public` is an acceptable Ed25519 public key.
///
/// # Errors
///
/// [`Error::InvalidPublicKey`] when the bytes are not a curve point,
/// [`Error::NonCanonicalPublicKey`] when they are a non-canonical encoding
/// of one, [`Error::WeakPublicKey`] when the point has small order.
pub fn check_public_key(public: &[u8; PUBLIC_KEY_SIZE]) -> Result<(), Error> {
    decode_public_key(public).map(|_| ())
}

/// Verifies an Ed25519 signature under sigtrail's acceptance rule.
///
/// # Errors
///
/// The key errors of [`check_public_key`]; [`Error::WrongLength`] when
/// `signature` is not 64 bytes; [`Error::BadEd25519Signature`] when the
/// signature does not verify strictly.
pub fn verify_ed25519(
    public: &[u8; PUBLIC_KEY_SIZE],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    verify_with_key(&decode_public_key(public)?, message, signature)
}

/// [`verify_ed25519`] with a key already decoded by [`decode_public_key`]
/// (so not of small order).
///
/// `verify_strict` decompresses `R` to check that it is not of small order,
/// then compares the encoding of `[S]B - [k]A` with the bytes of `R`. This
/// computes `[S]B - [k]A` first: when its encoding equals the bytes of `R`,
/// those bytes are the canonical encoding of that very point, so `R`
/// decompresses and is of small order exactly when the computed point is.
/// The verdict is the same, without the decompression.
pub(crate) fn verify_with_key(
    key: &VerifyingKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let signature: &[u8; SIGNATURE_SIZE] =
        signature.try_into().map_err(|_| Error::WrongLength {
            what: "Ed25519 signature",
            got: signature.len(),
            want: SIGNATURE_SIZE,
        })?;
    let (r, s) = signature.split_at(32);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(s);
    // S must be reduced below the group order.
    let s: Option<Scalar> = Scalar::from_canonical_bytes(s_bytes).into();
    let s = s.ok_or(Error::BadEd25519Signature)?;
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r)
            .chain_update(key.as_bytes())
            .chain_update(message),
    );
    let expected = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-key.to_edwards(), &s);
    if expected.compress().as_bytes() != r || expected.is_small_order() {
        return Err(Error::BadEd25519Signature);
    }
    Ok(())
}

/// How many accepted keys [`decode_public_key`] remembers. A log sees the
/// same few signer keys again and again; past this many the memory starts
/// afresh.
const REMEMBERED_KEYS: usize = 4096;

/// Accepted public keys, decoded: decoding is a field square root, about a
/// tenth of the cost of verifying a signature.
static DECODED: LazyLock<Mutex<HashMap<[u8; PUBLIC_KEY_SIZE], VerifyingKey>>> =
    LazyLock::new(Mutex::default);

/// The remembered keys. A poisoned lock only means a panic elsewhere while
/// it was held: the map itself is still valid.
fn remembered() -> MutexGuard<'static, HashMap<[u8; PUBLIC_KEY_SIZE], VerifyingKey>> {
    DECODED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Decodes a public key under the rule of [`check_public_key`], remembering
/// the keys it accepted.
pub(crate) fn decode_public_key(public: &[u8; PUBLIC_KEY_SIZE]) -> Result<VerifyingKey, Error> {
    if let Some(key) = remembered().get(public).copied() {
        return Ok(key);
    }
    let key = decode_afresh(public)?;
    let mut keys = remembered();
    if keys.len() >= REMEMBERED_KEYS {
        keys.clear();
    }
    keys.insert(*public, key);
    Ok(key)
}

fn decode_afresh(public: &[u8; PUBLIC_KEY_SIZE]) -> Result<VerifyingKey, Error> {
    let key = VerifyingKey::from_bytes(public).map_err(|_| Error::InvalidPublicKey)?;
    if !is_canonical_encoding(public) {
        return Err(Error::NonCanonicalPublicKey);
    }
    if key.is_weak() {
        return Err(Error::WeakPublicKey);
    }
    Ok(key)
}

/// Whether a point encoding that decompresses is the one its point
/// compresses to, without the field inversion a compression costs. An
/// encoding is `y` (255 bits, little-endian) and the sign of `x` (bit 255).
/// It is canonical unless `y` is not reduced (`y >= p = 2^255 - 19`), or
/// the sign bit is set while `x = 0`, which happens only for `y = 1` and
/// `y = p - 1`.
fn is_canonical_encoding(bytes: &[u8; PUBLIC_KEY_SIZE]) -> bool {
    let mut y = *bytes;
    y[31] &= 0x7f;
    let sign = bytes[31] >> 7 == 1;
    // p - 1 and p - 19, little-endian: 0x7fff…ffec and 0x7fff…ffed.
    let top_all_ones = y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f;
    let unreduced = top_all_ones && y[0] >= 0xed;
    let minus_one = top_all_ones && y[0] == 0xec;
    let one = y[0] == 1 && y[1..].iter().all(|&b| b == 0);
    !(unreduced || (sign && (one || minus_one)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use ed25519_dalek::Signature;

    /// The verdict of ed25519-dalek's `verify_strict`, the reference.
    fn strict(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        VerifyingKey::from_bytes(public).is_ok_and(|key| {
            key.verify_strict(message, &Signature::from_bytes(signature))
                .is_ok()
        })
    }

    /// The verdict of [`verify_ed25519`] on a key it accepts.
    fn ours(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        verify_ed25519(public, message, signature).is_ok()
    }

    /// A signature `(R, S)` with `R` chosen by the signer, over a key with
    /// a small-order component: `A = [a]B + T`, `T` of order 8. With
    /// `S = r + k·a`, `[S]B - [k]A = [r]B - [k]T`, so the cofactorless
    /// equation holds when `R = [r]B - [k]T`; the message is ground until
    /// `k` makes it so (one in eight tries). Returns the key, message and
    /// signature.
    fn torsion_signature(r: Scalar, r_torsion: usize) -> ([u8; 32], Vec<u8>, [u8; 64]) {
        let a = Scalar::from(0x5eed_u64);
        let public_point = ED25519_BASEPOINT_POINT * a + EIGHT_TORSION[1];
        let public = public_point.compress().to_bytes();
        let big_r = ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[r_torsion];
        let r_bytes = big_r.compress().to_bytes();
        for n in 0u32.. {
            let message = n.to_be_bytes().to_vec();
            let k = Scalar::from_hash(
                Sha512::new()
                    .chain_update(r_bytes)
                    .chain_update(public)
                    .chain_update(&message),
            );
            if EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-public_point, &(r + k * a))
                == big_r
            {
                let mut signature = [0u8; 64];
                signature[..32].copy_from_slice(&r_bytes);
                signature[32..].copy_from_slice((r + k * a).as_bytes());
                return (public, message, signature);
            }
        }
        unreachable!("some message gives the torsion wanted")
    }

    #[test]
    fn a_remembered_key_decodes_as_it_did_the_first_time() {
        let public = unhex::<32>(RFC8032_PUBLIC);
        let first = decode_public_key(&public).expect("accepted");
        assert_eq!(decode_public_key(&public), Ok(first));
        assert_eq!(first, decode_afresh(&public).expect("accepted"));
        // Rejected keys are never remembered: they are rejected every time.
        let identity =
            unhex::<32>("0100000000000000000000000000000000000000000000000000000000000000");
        for _ in 0..2 {
            assert_eq!(decode_public_key(&identity), Err(Error::WeakPublicKey));
        }
        // Past the limit the memory starts afresh and still answers right.
        for seed in 0..=REMEMBERED_KEYS as u32 {
            let mut bytes = [0u8; 32];
            bytes[..4].copy_from_slice(&seed.to_le_bytes());
            let key = ed25519_dalek::SigningKey::from_bytes(&bytes).verifying_key();
            assert_eq!(decode_public_key(key.as_bytes()), Ok(key));
        }
        assert_eq!(decode_public_key(&public), Ok(first));
    }

    #[test]
    fn small_order_r_is_rejected_though_the_equation_holds() {
        // R = T', of small order, and r = 0: loose verification accepts.
        for torsion in 0..8 {
            let (public, message, signature) = torsion_signature(Scalar::ZERO, torsion);
            let key = VerifyingKey::from_bytes(&public).unwrap();
            assert!(key
                .verify(&message, &Signature::from_bytes(&signature))
                .is_ok());
            assert!(!strict(&public, &message, &signature), "torsion {torsion}");
            assert_eq!(
                verify_ed25519(&public, &message, &signature),
                Err(Error::BadEd25519Signature),
                "torsion {torsion}"
            );
        }
    }

    #[test]
    fn mixed_order_r_and_key_verify_as_verify_strict_says() {
        for torsion in 0..8 {
            let (public, message, signature) = torsion_signature(Scalar::from(77u8), torsion);
            assert!(strict(&public, &message, &signature), "torsion {torsion}");
            assert!(ours(&public, &message, &signature), "torsion {torsion}");
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_verify_strict_on_valid_and_damaged_signatures(
            seed in proptest::array::uniform32(0_u8..),
            message in proptest::collection::vec(0_u8.., 0..200),
            damage in 0_usize..64,
            flip in 1_u8..,
            damaged in proptest::bool::ANY,
        ) {
            use ed25519_dalek::Signer as _;
            let signer = ed25519_dalek::SigningKey::from_bytes(&seed);
            let public = signer.verifying_key().to_bytes();
            let mut signature = signer.sign(&message).to_bytes();
            if damaged {
                signature[damage] ^= flip;
            }
            proptest::prop_assert_eq!(
                ours(&public, &message, &signature),
                strict(&public, &message, &signature)
            );
            proptest::prop_assert_eq!(ours(&public, &message, &signature), !damaged);
        }

        #[test]
        fn agrees_with_verify_strict_on_random_bytes(
            public in proptest::array::uniform32(0_u8..),
            r in proptest::array::uniform32(0_u8..),
            s in proptest::array::uniform32(0_u8..),
        ) {
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(&r);
            signature[32..].copy_from_slice(&s);
            if check_public_key(&public).is_ok() {
                proptest::prop_assert_eq!(
                    ours(&public, b"m", &signature),
                    strict(&public, b"m", &signature)
                );
            }
        }
    }
    use ed25519_dalek::Verifier as _;

    fn unhex<const N: usize>(s: &str) -> [u8; N] {
        crate::encoding::decode_lower_hex(s, "test vector").unwrap()
    }

    // RFC 8032, section 7.1, TEST 1 (empty message).
    const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const RFC8032_SIGNATURE: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    #[test]
    fn valid_signature_verifies() {
        let public = unhex::<32>(RFC8032_PUBLIC);
        let signature = unhex::<64>(RFC8032_SIGNATURE);
        assert_eq!(verify_ed25519(&public, b"", &signature), Ok(()));
        assert_eq!(
            verify_ed25519(&public, b"x", &signature),
            Err(Error::BadEd25519Signature)
        );
        assert_eq!(
            verify_ed25519(&public, b"", &signature[..63]),
            Err(Error::WrongLength {
                what: "Ed25519 signature",
                got: 63,
                want: 64
            })
        );
    }

    #[test]
    fn small_order_key_is_rejected_though_loose_verification_accepts_it() {
        // The identity point as public key, with R = identity and S = 0:
        // [0]B = identity + [k]identity holds for every message.
        let identity =
            unhex::<32>("0100000000000000000000000000000000000000000000000000000000000000");
        let mut signature = [0u8; 64];
        signature[0] = 1;
        let loose = VerifyingKey::from_bytes(&identity).unwrap();
        assert!(loose
            .verify(b"any message", &Signature::from_bytes(&signature))
            .is_ok());
        assert_eq!(check_public_key(&identity), Err(Error::WeakPublicKey));
        assert_eq!(
            verify_ed25519(&identity, b"any message", &signature),
            Err(Error::WeakPublicKey)
        );
        assert!(loose
            .verify_strict(b"any message", &Signature::from_bytes(&signature))
            .is_err());
    }

    #[test]
    fn non_canonical_s_is_rejected() {
        // S + l encodes the same scalar as S, so only a strict verifier
        // notices that the signature is a malleated copy.
        const GROUP_ORDER: &str =
            "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";
        let public = unhex::<32>(RFC8032_PUBLIC);
        let mut signature = unhex::<64>(RFC8032_SIGNATURE);
        let order = unhex::<32>(GROUP_ORDER);
        let mut carry = 0u16;
        for (s, l) in signature[32..].iter_mut().zip(order) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        assert_eq!(
            verify_ed25519(&public, b"", &signature),
            Err(Error::BadEd25519Signature)
        );
    }

    #[test]
    fn non_canonical_and_invalid_keys_are_rejected() {
        // y = p + 1, a non-canonical encoding of the identity.
        let non_canonical =
            unhex::<32>("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
        assert_eq!(
            check_public_key(&non_canonical),
            Err(Error::NonCanonicalPublicKey)
        );
        // y = 2 is not the y coordinate of any curve point.
        let off_curve =
            unhex::<32>("0200000000000000000000000000000000000000000000000000000000000000");
        assert_eq!(check_public_key(&off_curve), Err(Error::InvalidPublicKey));
        assert_eq!(check_public_key(&unhex::<32>(RFC8032_PUBLIC)), Ok(()));
    }

    /// The canonical check by compressing the decoded point again: slow,
    /// and the reference for `is_canonical_encoding`.
    fn canonical_by_compression(bytes: &[u8; 32]) -> Option<bool> {
        let key = VerifyingKey::from_bytes(bytes).ok()?;
        Some(key.to_edwards().compress().as_bytes() == bytes)
    }

    #[test]
    fn canonical_check_agrees_with_compression_on_edge_encodings() {
        // Every y from p - 40 to 2^255 - 1, and y = 0, 1, 2, with both signs.
        let mut encodings = Vec::new();
        for low in 0xc5..=0xff_u8 {
            let mut y = [0xff_u8; 32];
            y[0] = low;
            y[31] = 0x7f;
            encodings.push(y);
        }
        for low in 0..=2_u8 {
            let mut y = [0_u8; 32];
            y[0] = low;
            encodings.push(y);
        }
        let mut decoded = 0;
        for y in encodings {
            for sign in [0, 0x80] {
                let mut bytes = y;
                bytes[31] |= sign;
                if let Some(canonical) = canonical_by_compression(&bytes) {
                    decoded += 1;
                    assert_eq!(is_canonical_encoding(&bytes), canonical, "{bytes:02x?}");
                }
            }
        }
        // The edge cases include points, some of them non-canonical.
        assert!(decoded >= 8, "only {decoded} encodings decoded");
    }

    proptest::proptest! {
        #[test]
        fn canonical_check_agrees_with_compression(bytes in proptest::array::uniform32(0_u8..)) {
            if let Some(canonical) = canonical_by_compression(&bytes) {
                proptest::prop_assert_eq!(is_canonical_encoding(&bytes), canonical);
            }
        }
    }
}
