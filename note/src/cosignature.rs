//! Ed25519 checkpoint cosignatures, `cosignature/v1` (signature type 0x04,
//! `c2sp.org/tlog-cosignature`).
//!
//! The signature bytes are `timestamp (u64, big-endian) || Ed25519
//! signature`, over the message `cosignature/v1\ntime <timestamp>\n`
//! followed by the whole checkpoint note text.

use crate::checkpoint::Checkpoint;
use crate::key::{Algorithm, SignerKey, VerifierKey};
use crate::signed_note::Signature;
use crate::Error;

/// The header line of the signed message, for domain separation.
pub const COSIGNATURE_HEADER: &str = "cosignature/v1";

/// Largest timestamp a cosignature may carry, 2^63 - 1.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Size of the signature bytes after the key ID: timestamp and Ed25519
/// signature.
pub const COSIGNATURE_SIZE: usize = TIMESTAMP_SIZE + crate::ed25519::SIGNATURE_SIZE;

const TIMESTAMP_SIZE: usize = 8;

/// The message a cosigner signs: header line, time line, checkpoint text.
pub fn message(checkpoint_text: &str, timestamp: u64) -> Vec<u8> {
    format!("{COSIGNATURE_HEADER}\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

fn check_timestamp(timestamp: u64) -> Result<(), Error> {
    if timestamp > MAX_TIMESTAMP {
        return Err(Error::TimestampOutOfRange {
            got: timestamp,
            max: MAX_TIMESTAMP,
        });
    }
    Ok(())
}

/// Cosigns a checkpoint at `timestamp` (seconds since the Unix epoch).
///
/// # Errors
///
/// [`Error::WrongKeyType`] unless `key` is a cosignature/v1 key,
/// [`Error::TimestampOutOfRange`], and the errors of [`Checkpoint::parse`]:
/// only a canonical checkpoint is cosigned.
pub fn sign(checkpoint_text: &str, key: &SignerKey, timestamp: u64) -> Result<Signature, Error> {
    key.algorithm().require(Algorithm::CosignatureV1)?;
    check_timestamp(timestamp)?;
    Checkpoint::parse(checkpoint_text)?;
    let mut bytes = timestamp.to_be_bytes().to_vec();
    bytes.extend_from_slice(&key.sign(&message(checkpoint_text, timestamp)));
    Ok(Signature {
        name: key.name().to_owned(),
        key_id: key.key_id(),
        bytes,
    })
}

/// Splits cosignature bytes into timestamp and Ed25519 signature.
fn split(signature: &Signature) -> Result<(u64, &[u8]), Error> {
    if signature.bytes.len() != COSIGNATURE_SIZE {
        return Err(Error::WrongLength {
            what: "cosignature",
            got: signature.bytes.len(),
            want: COSIGNATURE_SIZE,
        });
    }
    let (timestamp, ed25519) = signature.bytes.split_at(TIMESTAMP_SIZE);
    let mut be = [0u8; TIMESTAMP_SIZE];
    be.copy_from_slice(timestamp);
    let timestamp = u64::from_be_bytes(be);
    check_timestamp(timestamp)?;
    Ok((timestamp, ed25519))
}

/// The timestamp of a cosignature, without verifying it.
///
/// # Errors
///
/// [`Error::WrongLength`] unless the signature is 72 bytes,
/// [`Error::TimestampOutOfRange`].
pub fn timestamp(signature: &Signature) -> Result<u64, Error> {
    split(signature).map(|(timestamp, _)| timestamp)
}

/// Verifies a cosignature of a checkpoint note text and returns its
/// timestamp.
///
/// # Errors
///
/// [`Error::WrongKeyType`] unless `key` is a cosignature/v1 key,
/// [`Error::SignerMismatch`] when the signature's name or key ID is not
/// `key`'s, [`Error::TimestampOutOfRange`], and [`Error::InvalidSignature`]
/// (evidence) when the signature has the wrong length or does not verify.
pub fn verify(
    checkpoint_text: &str,
    key: &VerifierKey,
    signature: &Signature,
) -> Result<u64, Error> {
    key.algorithm().require(Algorithm::CosignatureV1)?;
    if !key.matches(signature) {
        return Err(Error::SignerMismatch {
            want_name: key.name().to_owned(),
            want_key_id: key.key_id(),
            got_name: signature.name.clone(),
            got_key_id: signature.key_id,
        });
    }
    let (timestamp, ed25519) = split(signature).map_err(|e| match e {
        Error::WrongLength { .. } => Error::InvalidSignature {
            name: key.name().to_owned(),
            key_id: key.key_id(),
        },
        other => other,
    })?;
    key.verify(&message(checkpoint_text, timestamp), ed25519)?;
    Ok(timestamp)
}
