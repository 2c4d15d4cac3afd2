//! The log's witnesses: each new checkpoint goes to every witness in
//! parallel (C2SP tlog-witness `add-checkpoint`), with the consistency proof
//! from the size that witness last cosigned; the cosignatures that verify
//! are added to the checkpoint.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sigtrail_merkle::{Hash, TreeHead};
use sigtrail_note::signed_note::parse_signature_lines;
use sigtrail_note::witness_request::{parse_tree_size, AddCheckpoint};
use sigtrail_note::{cosignature, Algorithm, Note, Signature, VerifierKey};
use tokio::sync::Mutex;

use crate::tiles::{ReadError, TileReader};

/// One witness the log asks: its cosignature/v1 verifier key and base URL.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    /// The witness's `cosignature/v1` (type 0x04) verifier key.
    pub vkey: VerifierKey,
    /// Where `add-checkpoint` is: `<url>/add-checkpoint`.
    pub url: String,
}

/// Why a `--witness` value does not parse.
#[derive(Debug, thiserror::Error)]
pub enum WitnessConfigError {
    /// Not two fields.
    #[error("a witness is \"VKEY URL\", got {0:?}")]
    Shape(String),
    /// The key does not parse.
    #[error("witness key: {0}")]
    Key(#[from] sigtrail_note::Error),
    /// The key is not a cosignature/v1 key.
    #[error("witness key {0} is not a cosignature/v1 (type 0x04) key")]
    KeyType(String),
    /// The URL is not http(s).
    #[error("witness URL {0:?} must start with http:// or https://")]
    Url(String),
}

impl FromStr for WitnessConfig {
    type Err = WitnessConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, url) = s
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| WitnessConfigError::Shape(s.to_owned()))?;
        let vkey: VerifierKey = key.parse()?;
        if vkey.algorithm() != Algorithm::CosignatureV1 {
            return Err(WitnessConfigError::KeyType(key.to_owned()));
        }
        let url = url.trim().trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.contains(char::is_whitespace)
        {
            return Err(WitnessConfigError::Url(url.to_owned()));
        }
        Ok(WitnessConfig {
            vkey,
            url: url.to_owned(),
        })
    }
}

/// Why one witness did not cosign.
#[derive(Debug, thiserror::Error)]
enum WitnessError {
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("its answer does not parse: {0}")]
    Answer(#[from] sigtrail_note::Error),
    #[error("it has cosigned size {size}, larger than ours {ours}: a fork, or another log under our name")]
    Ahead { size: u64, ours: u64 },
    #[error("it answered 409 twice")]
    Conflict,
    #[error("no cosignature by its key in the answer")]
    NoCosignature,
    #[error(transparent)]
    Proof(#[from] ReadError),
}

/// A witness and the size it last cosigned for this log.
struct Witness {
    config: WitnessConfig,
    cosigned: Mutex<u64>,
}

/// The witness set, its quorum, and an HTTP client to reach it.
pub struct Witnesses {
    witnesses: Vec<Arc<Witness>>,
    quorum: usize,
    timeout: Duration,
    client: reqwest::Client,
}

impl Witnesses {
    /// A witness set; `quorum` cosignatures make a checkpoint witnessed.
    pub fn new(configs: Vec<WitnessConfig>, quorum: usize, timeout: Duration) -> Self {
        let witnesses = configs
            .into_iter()
            .map(|config| {
                Arc::new(Witness {
                    config,
                    cosigned: Mutex::new(0),
                })
            })
            .collect();
        Self {
            witnesses,
            quorum,
            timeout,
            client: reqwest::Client::new(),
        }
    }

    /// The number of cosignatures a checkpoint needs.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// The witnesses' verifier keys.
    pub fn vkeys(&self) -> Vec<String> {
        self.witnesses
            .iter()
            .map(|w| w.config.vkey.to_string())
            .collect()
    }

    /// Sends a signed checkpoint to every witness in parallel and returns it
    /// with every cosignature that verified, and how many there are.
    pub async fn cosign(
        &self,
        reader: &TileReader,
        checkpoint: &[u8],
        head: TreeHead,
    ) -> (Vec<u8>, usize) {
        let Ok(mut note) = Note::parse(checkpoint) else {
            return (checkpoint.to_vec(), 0);
        };
        let asks = self.witnesses.iter().map(|witness| {
            let span = tracing::info_span!("witness", url = %witness.config.url, size = head.size);
            let ask = tokio::time::timeout(
                self.timeout,
                self.ask(witness, reader, checkpoint, note.text(), head),
            );
            async move {
                let _enter = span.enter();
                match ask.await {
                    Ok(Ok(signature)) => Some(signature),
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "witness did not cosign");
                        None
                    }
                    Err(_) => {
                        tracing::warn!(timeout = ?self.timeout, "witness did not answer in time");
                        None
                    }
                }
            }
        });
        let signatures: Vec<Signature> = futures::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .collect();
        let count = signatures.len();
        for signature in signatures {
            if let Err(error) = note.add_signature(signature) {
                tracing::error!(%error, "cannot add a verified cosignature to the checkpoint");
            }
        }
        (note.to_text().into_bytes(), count)
    }

    /// One `add-checkpoint` exchange, following one 409 to the size the
    /// witness really holds.
    async fn ask(
        &self,
        witness: &Witness,
        reader: &TileReader,
        checkpoint: &[u8],
        text: &str,
        head: TreeHead,
    ) -> Result<Signature, WitnessError> {
        let mut cosigned = witness.cosigned.lock().await;
        for _ in 0..2 {
            let old = *cosigned;
            if old > head.size {
                return Err(WitnessError::Ahead {
                    size: old,
                    ours: head.size,
                });
            }
            let proof: Vec<Hash> = if old == 0 || old == head.size {
                Vec::new()
            } else {
                reader.consistency_proof(old, head.size).await?
            };
            let body = AddCheckpoint {
                old_size: old,
                proof,
                checkpoint: checkpoint.to_vec(),
            }
            .to_text();
            let response = self
                .client
                .post(format!("{}/add-checkpoint", witness.config.url))
                .body(body)
                .send()
                .await?;
            let status = response.status().as_u16();
            let answer = response.bytes().await?;
            match status {
                200 => {
                    let signature = parse_signature_lines(&answer)?
                        .into_iter()
                        .find(|s| witness.config.vkey.matches(s))
                        .ok_or(WitnessError::NoCosignature)?;
                    cosignature::verify(text, &witness.config.vkey, &signature)?;
                    *cosigned = head.size;
                    return Ok(signature);
                }
                409 => *cosigned = parse_tree_size(&answer)?,
                _ => {
                    let body = String::from_utf8_lossy(&answer).chars().take(200).collect();
                    return Err(WitnessError::Refused { status, body });
                }
            }
        }
        Err(WitnessError::Conflict)
    }
}

#[cfg(test)]
mod tests {
    use sigtrail_note::SignerKey;

    use super::*;

    fn key(algorithm: Algorithm) -> String {
        SignerKey::from_seed("witness.example/w1", algorithm, &[3; 32])
            .unwrap()
            .verifier_key()
            .to_string()
    }

    #[test]
    fn witness_flags_parse_strictly() {
        let vkey = key(Algorithm::CosignatureV1);
        let parsed: WitnessConfig = format!("{vkey} http://127.0.0.1:9000/").parse().unwrap();
        assert_eq!(parsed.vkey.to_string(), vkey);
        assert_eq!(
            parsed.url, "http://127.0.0.1:9000",
            "trailing slash dropped"
        );

        let log_key = key(Algorithm::Ed25519);
        let bad = [
            (vkey.clone(), "Shape"),
            (format!("{vkey} ftp://w.example"), "Url"),
            (format!("{log_key} http://w.example"), "KeyType"),
            ("nokey http://w.example".to_owned(), "Key"),
        ];
        for (text, want) in bad {
            let error = text.parse::<WitnessConfig>().unwrap_err();
            assert!(format!("{error:?}").starts_with(want), "{text}: {error:?}");
        }
    }
}
