//! A typed client for every route of a sigtrail log server.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sigtrail_merkle::{BundleId, Hash, TileId};
use sigtrail_note::SignedEntry;

use crate::Error;

/// How many full tiles and bundles a [`Client`] keeps in memory.
pub const CACHE_ENTRIES: usize = 256;

/// The query of a request without parameters.
const NO_QUERY: &[(&str, &str)] = &[];

/// The answer to a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
    /// The entry's leaf index.
    pub index: u64,
    /// Its bundle: a C2SP tlog-proof text.
    pub proof: String,
    /// Whether the entry was new (201) rather than already logged (200).
    pub new: bool,
}

/// An entry as `GET /api/v1/entries/{index}` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryInfo {
    /// Leaf index.
    pub index: u64,
    /// Leaf hash, base64.
    pub leaf_hash: String,
    /// The signed entry text.
    pub entry: String,
    /// Artifact digest, `sha256:<hex>`.
    pub subject: String,
    /// Artifact name.
    pub name: String,
    /// Signer's verifier key.
    pub key: String,
    /// Signing time, `YYYY-MM-DDTHH:MM:SSZ`.
    pub time: String,
}

/// One search result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Leaf index.
    pub index: u64,
    /// Leaf hash, base64.
    pub leaf_hash: String,
    /// Signer's verifier key.
    pub key: String,
    /// Artifact digest, `sha256:<hex>`.
    pub subject: String,
    /// Artifact name.
    pub name: String,
}

/// One page of search results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPage {
    /// Matching entries, in index order.
    pub entries: Vec<SearchHit>,
    /// The `after` value of the next page; `None` on the last page.
    pub next: Option<u64>,
}

/// Search criteria: at least one of `key`, `subject`, `name`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SearchQuery {
    /// Signer's verifier key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Artifact digest, `sha256:<hex>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Exact artifact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only entries after this index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Page size, 1 to 1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// What `GET /api/v1/log` says about the log. Informational only: verify
/// against keys you trust, not against these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogInfo {
    /// The log's origin.
    pub origin: String,
    /// The log's verifier key.
    pub vkey: String,
    /// Current tree size.
    pub size: u64,
    /// Witness keys the log asks to cosign.
    pub witnesses: Vec<String>,
    /// Cosignatures the log waits for.
    pub quorum: usize,
}

#[derive(Deserialize)]
struct SubmitAnswer {
    index: u64,
    proof: String,
}

#[derive(Deserialize)]
struct ProofAnswer {
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
}

/// A client of one log; share it by reference between concurrent tasks.
#[derive(Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Vec<u8>>>,
}

impl Client {
    /// A client for the log at `base` (`http://host:port`, with an optional
    /// path prefix).
    ///
    /// # Errors
    ///
    /// [`Error::BadUrl`] for a URL that is not http(s), [`Error::Http`] when
    /// the TLS stack cannot be set up.
    pub fn new(base: &str) -> Result<Self, Error> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::BadUrl(base.to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("sigtrail-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::Http)?;
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            http,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// Submits an entry once (`POST /api/v1/entries`).
    ///
    /// # Errors
    ///
    /// [`Error::Overloaded`] on 503 (transient: retry after the delay),
    /// [`Error::Status`] on other failures, [`Error::Http`].
    pub async fn submit(&self, entry: &SignedEntry) -> Result<Submitted, Error> {
        let url = self.url("api/v1/entries");
        let body = serde_json::json!({ "entry": String::from_utf8_lossy(entry.as_bytes()) });
        let response = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(Error::Http)?;
        let status = response.status();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            return Err(Error::Overloaded { retry_after });
        }
        let answer: SubmitAnswer = decode_json(&url, checked(&url, response).await?)?;
        Ok(Submitted {
            index: answer.index,
            proof: answer.proof,
            new: status == StatusCode::CREATED,
        })
    }

    /// Submits an entry, retrying up to `attempts` times while the log
    /// answers 503, waiting as long as its `Retry-After` asks.
    ///
    /// # Errors
    ///
    /// The last error; any error other than [`Error::Overloaded`] at once.
    pub async fn submit_with_retry(
        &self,
        entry: &SignedEntry,
        attempts: u32,
    ) -> Result<Submitted, Error> {
        let mut attempt = 1;
        loop {
            match self.submit(entry).await {
                Err(Error::Overloaded { retry_after }) if attempt < attempts => {
                    tokio::time::sleep(Duration::from_secs(retry_after.min(60))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The entry at `index` (`GET /api/v1/entries/{index}`).
    ///
    /// # Errors
    ///
    /// [`Error::Status`] (404 beyond the tree), [`Error::Http`], [`Error::Json`].
    pub async fn entry(&self, index: u64) -> Result<EntryInfo, Error> {
        self.get_json(&format!("api/v1/entries/{index}"), NO_QUERY)
            .await
    }

    /// One page of entries matching `query` (`GET /api/v1/entries?…`).
    ///
    /// # Errors
    ///
    /// [`Error::Status`] (400 without criteria), [`Error::Http`], [`Error::Json`].
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchPage, Error> {
        self.get_json("api/v1/entries", query).await
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    ///
    /// # Errors
    ///
    /// [`Error::Status`], [`Error::Http`], [`Error::Json`], [`Error::Response`].
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, Error> {
        let query = [("index", index.to_string()), ("size", size.to_string())];
        self.proof("api/v1/proof/inclusion", &query).await
    }

    /// The consistency proof from the tree of `old` leaves to `new` leaves.
    ///
    /// # Errors
    ///
    /// [`Error::Status`], [`Error::Http`], [`Error::Json`], [`Error::Response`].
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, Error> {
        let query = [("old", old.to_string()), ("new", new.to_string())];
        self.proof("api/v1/proof/consistency", &query).await
    }

    async fn proof(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<Hash>, Error> {
        let answer: ProofAnswer = self.get_json(path, query).await?;
        let url = self.url(path);
        answer
            .proof
            .iter()
            .map(|h| {
                h.parse().map_err(|source| Error::Response {
                    url: url.clone(),
                    source,
                })
            })
            .collect()
    }

    /// What the log says about itself (`GET /api/v1/log`).
    ///
    /// # Errors
    ///
    /// [`Error::Status`], [`Error::Http`], [`Error::Json`].
    pub async fn log_info(&self) -> Result<LogInfo, Error> {
        self.get_json("api/v1/log", NO_QUERY).await
    }

    /// The latest signed checkpoint, unverified (`GET /checkpoint`).
    ///
    /// # Errors
    ///
    /// [`Error::Status`], [`Error::Http`].
    pub async fn checkpoint(&self) -> Result<Vec<u8>, Error> {
        self.get_bytes("checkpoint", NO_QUERY).await
    }

    /// A tile of hashes. A full tile comes from the cache when it can; a
    /// partial tile the server no longer has (404) is cut from the full tile.
    ///
    /// # Errors
    ///
    /// [`Error::Status`], [`Error::Http`], [`Error::Response`] for a tile of
    /// the wrong length.
    pub async fn tile(&self, tile: TileId) -> Result<Vec<u8>, Error> {
        let data = self
            .cached_or_full(&tile.path(), &tile.full().path(), tile.is_full())
            .await?;
        if data.len() < tile.data_len() {
            return Err(Error::Response {
                url: self.url(&tile.path()),
                source: sigtrail_merkle::Error::WrongHashCount {
                    got: data.len() / sigtrail_merkle::HASH_SIZE,
                    want: usize::from(tile.width),
                },
            });
        }
        Ok(data[..tile.data_len()].to_vec())
    }

    /// An entry bundle's raw bytes, with the same cache and fallback as
    /// [`Client::tile`]. Decode with [`sigtrail_merkle::decode_entry_bundle`]
    /// and keep the first `width` entries.
    ///
    /// # Errors
    ///
    /// [`Error::Status`], [`Error::Http`].
    pub async fn entry_bundle(&self, bundle: BundleId) -> Result<Vec<u8>, Error> {
        let full = BundleId {
            width: sigtrail_merkle::TILE_WIDTH,
            ..bundle
        };
        self.cached_or_full(&bundle.path(), &full.path(), bundle.is_full())
            .await
    }

    /// Fetches `path`; when it is partial and missing, fetches `full_path`
    /// instead. Full resources are cached.
    async fn cached_or_full(
        &self,
        path: &str,
        full_path: &str,
        is_full: bool,
    ) -> Result<Vec<u8>, Error> {
        if let Some(data) = self.cache_get(full_path) {
            return Ok(data);
        }
        if !is_full {
            match self.get_bytes(path, NO_QUERY).await {
                Err(Error::Status { status: 404, .. }) => {}
                other => return other,
            }
        }
        let data = self.get_bytes(full_path, NO_QUERY).await?;
        self.cache_put(full_path, &data);
        Ok(data)
    }

    fn cache_get(&self, path: &str) -> Option<Vec<u8>> {
        self.cache.lock().ok()?.get(path).cloned()
    }

    fn cache_put(&self, path: &str, data: &[u8]) {
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(path.to_owned(), data.to_vec());
        }
    }

    /// The body of `GET path?query`, through [`checked`].
    async fn get_bytes<Q: Serialize + ?Sized>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<Vec<u8>, Error> {
        let url = self.url(path);
        let response = self
            .http
            .get(&url)
            .query(query)
            .send()
            .await
            .map_err(Error::Http)?;
        checked(&url, response).await
    }

    /// The body of `GET path?query`, decoded as JSON.
    async fn get_json<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, Error> {
        let body = self.get_bytes(path, query).await?;
        decode_json(&self.url(path), body)
    }
}

/// The body of a successful response, or [`Error::Status`] with the
/// server's error message.
async fn checked(url: &str, response: reqwest::Response) -> Result<Vec<u8>, Error> {
    let status = response.status();
    let body = response.bytes().await.map_err(Error::Http)?.to_vec();
    if status.is_success() {
        return Ok(body);
    }
    let message = serde_json::from_slice::<ErrorAnswer>(&body)
        .map(|e| e.error)
        .unwrap_or_else(|_| String::from_utf8_lossy(&body).chars().take(200).collect());
    Err(Error::Status {
        url: url.to_owned(),
        status: status.as_u16(),
        message,
    })
}

fn decode_json<T: DeserializeOwned>(url: &str, body: Vec<u8>) -> Result<T, Error> {
    serde_json::from_slice(&body).map_err(|source| Error::Json {
        url: url.to_owned(),
        source,
    })
}
