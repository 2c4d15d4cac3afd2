//! Helpers for the server's tests and for end-to-end tests: signed entries,
//! bundle verification, and a whole-log consistency check.
//!
//! Compiled for the crate's tests and behind the `testing` feature.

use std::slice;

use sigtrail_merkle::{
    decode_entry_bundle, leaf_hash, new_tiles, root_of, tile_data, verify_inclusion, Hash,
    TreeHead, TILE_WIDTH,
};
use sigtrail_note::checkpoint::parse_signed_checkpoint;
use sigtrail_note::{Algorithm, SignedEntry, SignerKey, SigningEvent, TlogProof, VerifierKey};

use std::sync::Arc;
use std::time::Duration;

use crate::api::Limits;
use crate::identity::LogIdentity;
use crate::sequencer::SequencerConfig;
use crate::store::{MemoryStore, Store};
use crate::witnesses::{WitnessConfig, Witnesses};
use crate::{init_log, Log};

/// A deterministic artifact signer key.
pub fn signer(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(name, Algorithm::Ed25519, &[seed; 32]).expect("valid key name")
}

/// The `n`-th distinct signed entry of a signer.
pub fn entry(signer: &SignerKey, n: u64) -> SignedEntry {
    SigningEvent {
        subject: leaf_hash(&n.to_be_bytes()).0,
        name: format!("pkg:generic/artifact@1.0.{n}"),
        key: signer.verifier_key().clone(),
        time: 1_764_064_800 + n,
    }
    .sign(signer)
    .expect("valid event")
}

/// Checks a bundle for `entry` against the log key: the entry is in the
/// bundle, the checkpoint is signed by the log, and the inclusion proof
/// holds. Returns the entry's index and the checkpoint's tree head.
///
/// # Panics
///
/// When any check fails.
pub fn verify_bundle(bundle: &[u8], entry: &SignedEntry, log_key: &VerifierKey) -> (u64, TreeHead) {
    let proof = TlogProof::parse(bundle).expect("bundle parses");
    assert_eq!(
        proof.extra.as_deref(),
        Some(entry.as_bytes()),
        "bundle carries the entry"
    );
    let head = verify_checkpoint(&proof.checkpoint, log_key);
    verify_inclusion(&entry.leaf_hash(), proof.index, &head, &proof.proof)
        .expect("inclusion proof verifies");
    (proof.index, head)
}

/// Verifies a signed checkpoint against the log key and returns its head.
///
/// # Panics
///
/// When it does not parse or verify.
pub fn verify_checkpoint(text: &[u8], log_key: &VerifierKey) -> TreeHead {
    let (note, checkpoint) = parse_signed_checkpoint(text).expect("checkpoint parses");
    note.verify(slice::from_ref(log_key))
        .expect("checkpoint signed by the log");
    assert_eq!(
        checkpoint.origin,
        log_key.name(),
        "checkpoint origin is the log's"
    );
    checkpoint.head
}

/// The widest stored version of one hash tile, read through [`Store::tiles`].
///
/// # Panics
///
/// If the store fails to read it.
pub async fn stored_tile(store: &dyn Store, level: u8, index: u64) -> Option<Vec<u8>> {
    store
        .tiles(&[(level, index)])
        .await
        .expect("read tile")
        .remove(&(level, index))
}

/// Reads the whole log back from the store and checks everything: the
/// checkpoint's signature, every entry's signature and record, the root,
/// and every tile against a recomputation from the leaves. Returns the head.
///
/// # Panics
///
/// On the first inconsistency, naming it.
pub async fn assert_log_consistent(store: &dyn Store, log_key: &VerifierKey) -> TreeHead {
    let stored = store.checkpoint().await.expect("read checkpoint");
    let head = verify_checkpoint(&stored.text, log_key);
    assert_eq!(head.size, stored.size, "stored size matches the checkpoint");
    let width = TILE_WIDTH as u64;
    let mut leaves: Vec<Hash> = Vec::with_capacity(head.size as usize);
    for bundle in 0..head.size.div_ceil(width) {
        let want = (head.size - bundle * width).min(width) as usize;
        let (stored_width, data) = store
            .bundle(bundle)
            .await
            .expect("read bundle")
            .expect("bundle exists");
        assert!(
            stored_width as usize >= want,
            "bundle {bundle} is {stored_width} wide, want {want}"
        );
        for (i, bytes) in decode_entry_bundle(&data)
            .expect("bundle decodes")
            .into_iter()
            .take(want)
            .enumerate()
        {
            let index = bundle * width + i as u64;
            let entry = SignedEntry::parse(bytes).unwrap_or_else(|e| panic!("entry {index}: {e}"));
            let record = store
                .entry(index)
                .await
                .expect("read entry")
                .expect("entry record exists");
            assert_eq!(
                record.leaf_hash,
                entry.leaf_hash(),
                "record {index} has the entry's leaf hash"
            );
            leaves.push(entry.leaf_hash());
        }
    }
    assert!(
        store.entry(head.size).await.expect("read entry").is_none(),
        "no record beyond the tree"
    );
    assert_eq!(
        root_of(&leaves),
        head.root,
        "root recomputed from the entries"
    );
    for id in new_tiles(0, head.size) {
        let span = width.pow(u32::from(id.level));
        let expected: Vec<Hash> = (0..u64::from(id.width))
            .map(|i| {
                let start = ((id.index * width + i) * span) as usize;
                root_of(&leaves[start..start + span as usize])
            })
            .collect();
        let data = stored_tile(store, id.level, id.index)
            .await
            .expect("tile exists");
        assert_eq!(
            &data[..expected.len() * 32],
            tile_data(&expected).as_slice(),
            "tile {}",
            id.path()
        );
    }
    head
}

/// A two-worker runtime for servers that tests run in threads of their own.
///
/// # Panics
///
/// If the runtime cannot be built.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A log to serve on a loopback port in a test: its store (empty, the log
/// is created in it), its key, its sequencer settings and its witnesses.
pub struct TestLog {
    store: Arc<dyn Store>,
    key: SignerKey,
    sequencer: SequencerConfig,
    witnesses: Vec<WitnessConfig>,
    quorum: usize,
}

impl TestLog {
    /// A log over `store` signed by `key`, with a pool of 4096 submissions,
    /// batches of up to 256 every 5 ms, and no witnesses.
    pub fn new(store: Arc<dyn Store>, key: SignerKey) -> TestLog {
        TestLog {
            store,
            key,
            sequencer: SequencerConfig {
                pool_size: 4096,
                max_batch: 256,
                batch_interval: Duration::from_millis(5),
                cache_tiles: 64,
            },
            witnesses: Vec::new(),
            quorum: 0,
        }
    }

    /// Other sequencer settings (a small `pool_size` makes the log answer
    /// 503 under load).
    pub fn sequencer(mut self, sequencer: SequencerConfig) -> TestLog {
        self.sequencer = sequencer;
        self
    }

    /// Witnesses that cosign the log's checkpoints, `quorum` of them needed.
    pub fn witnesses(mut self, witnesses: Vec<WitnessConfig>, quorum: usize) -> TestLog {
        self.witnesses = witnesses;
        self.quorum = quorum;
        self
    }

    /// Creates the log in its store and serves it on a loopback port in a
    /// task of the current tokio runtime, for as long as that runtime runs.
    /// Returns the base URL.
    ///
    /// # Panics
    ///
    /// If the key is not a log key, the store already holds a log, or the
    /// port cannot be bound.
    pub async fn serve(self) -> String {
        let identity = LogIdentity::new(self.key).expect("an Ed25519 log key");
        init_log(self.store.as_ref(), &identity)
            .await
            .expect("init the log");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let log = Log {
            store: self.store,
            identity: Arc::new(identity),
            sequencer: self.sequencer,
            limits: Limits {
                max_body_bytes: 16 * 1024,
                request_timeout: Duration::from_secs(30),
            },
            witnesses: Arc::new(Witnesses::new(
                self.witnesses,
                self.quorum,
                Duration::from_secs(10),
            )),
        };
        tokio::spawn(async move {
            log.serve(listener, std::future::pending())
                .await
                .expect("serve the log");
        });
        url
    }
}

/// Serves a new log over a fresh memory store on a loopback port, in a
/// thread of its own, for as long as the test process lives. Two logs with
/// the same key are a fork of each other. Returns the base URL and the
/// log's verifier key.
///
/// # Panics
///
/// If the log cannot be created or served.
pub fn spawn_memory_log(
    key: SignerKey,
    witnesses: Vec<WitnessConfig>,
    quorum: usize,
) -> (String, String) {
    let vkey = key.verifier_key().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let url = TestLog::new(Arc::new(MemoryStore::new()), key)
                .witnesses(witnesses, quorum)
                .serve()
                .await;
            tx.send(url).expect("report the address");
            std::future::pending::<()>().await;
        });
    });
    (rx.recv().expect("the log's address"), vkey)
}
