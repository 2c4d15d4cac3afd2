//! The sequencer: the only writer of the log.
//!
//! Submissions wait in a bounded pool. One task takes a batch, appends the
//! new leaves to the in-memory [`TiledTree`], signs a checkpoint and writes
//! everything with one [`Store::commit`]. Only after that commit succeeds
//! are the submitters answered, each with its bundle (a C2SP tlog-proof).
//!
//! Crash points, and why nothing acknowledged can vanish:
//! 1. Before the commit: nothing was written and nobody was answered.
//! 2. During the commit: the store applies all or nothing.
//! 3. After the commit, before the answers: the entries are logged; a
//!    submitter that retries is deduplicated and gets its existing index.
//!
//! When a commit fails (another sequencer moved the log, or the store gave
//! an ambiguous error) the sequencer reloads the tree from the store and
//! tries the same batch once more; deduplication makes that safe.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sigtrail_merkle::{encode_entry_bundle, Hash, TileNodes, TiledTree, TreeHead, TILE_WIDTH};
use sigtrail_note::{Checkpoint, Note, SignedEntry, TlogProof};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tracing::Instrument;

use crate::identity::LogIdentity;
use crate::metrics::Metrics;
use crate::store::{Batch, BundleData, EntryRecord, Store, StoreError, TileData};
use crate::tiles::{Published, TileReader};
use crate::witnesses::Witnesses;

const BUNDLE_WIDTH: usize = TILE_WIDTH as usize;

/// An entry waiting to be logged, with the channel its answer goes to.
pub struct Submission {
    entry: SignedEntry,
    reply: oneshot::Sender<Result<Logged, SubmitError>>,
}

/// A logged entry: where it is and the bundle that proves it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Leaf index of the entry.
    pub index: u64,
    /// Whether this submission added the entry (false: it was already logged).
    pub new: bool,
    /// The C2SP tlog-proof text: entry, index, inclusion proof, checkpoint.
    pub bundle: Vec<u8>,
}

/// Why a submission was not logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The pool is full; the submitter should retry later.
    #[error("the log is at capacity; retry later")]
    PoolFull,
    /// The sequencer has stopped (the server is shutting down).
    #[error("the log is shutting down")]
    ShuttingDown,
    /// The store could not commit the batch; the entry may or may not be
    /// logged, and resubmitting it is safe.
    #[error("the log could not store the entry; resubmitting it is safe")]
    Unavailable,
    /// The entry is logged, but its checkpoint has not been cosigned by a
    /// quorum of witnesses yet.
    #[error(
        "the entry is logged, but too few witnesses have cosigned its checkpoint yet; \
         resubmit it to get its bundle"
    )]
    NotWitnessed,
}

/// Settings of the sequencer.
#[derive(Debug, Clone, Copy)]
pub struct SequencerConfig {
    /// How many submissions may wait; more are refused with `PoolFull`.
    pub pool_size: usize,
    /// The most entries integrated in one commit.
    pub max_batch: usize,
    /// How long the first submission of a batch waits at most for others
    /// that are still being verified.
    pub batch_interval: Duration,
    /// How many full tiles the reader caches; full bundles get as many
    /// bytes (see [`TileReader::new`]).
    pub cache_tiles: usize,
}

/// The cloneable way into the sequencer's pool.
#[derive(Clone)]
pub struct SequencerHandle {
    tx: mpsc::Sender<Submission>,
    verifying: Arc<Verifying>,
}

/// Submissions that hold a place in the pool but are not queued yet: their
/// entries are being verified. The sequencer waits for them before it
/// closes a batch, and for nothing else.
#[derive(Default)]
struct Verifying {
    count: AtomicUsize,
    /// Signalled whenever `count` falls.
    fell: Notify,
}

impl SequencerHandle {
    /// Takes a place in the pool for one submission, or refuses at once.
    /// Callers reserve before doing the costly work of verifying an entry,
    /// so that under overload a refusal costs next to nothing.
    ///
    /// # Errors
    ///
    /// [`SubmitError::PoolFull`] or [`SubmitError::ShuttingDown`].
    pub fn reserve(&self) -> Result<PoolSlot, SubmitError> {
        let permit = self.tx.clone().try_reserve_owned().map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::PoolFull,
            mpsc::error::TrySendError::Closed(_) => SubmitError::ShuttingDown,
        })?;
        self.verifying.count.fetch_add(1, Ordering::SeqCst);
        Ok(PoolSlot {
            permit: Some(permit),
            verifying: self.verifying.clone(),
        })
    }

    /// Queues a verified entry; the receiver yields its outcome once its
    /// batch is committed.
    ///
    /// # Errors
    ///
    /// [`SubmitError::PoolFull`] or [`SubmitError::ShuttingDown`] at once.
    pub fn submit(
        &self,
        entry: SignedEntry,
    ) -> Result<oneshot::Receiver<Result<Logged, SubmitError>>, SubmitError> {
        Ok(self.reserve()?.submit(entry))
    }
}

/// A place in the pool, held for one submission while its entry is
/// verified. Dropping it gives the place back.
pub struct PoolSlot {
    permit: Option<mpsc::OwnedPermit<Submission>>,
    verifying: Arc<Verifying>,
}

impl PoolSlot {
    /// Queues a verified entry in this place; the receiver yields its
    /// outcome once its batch is committed.
    pub fn submit(mut self, entry: SignedEntry) -> oneshot::Receiver<Result<Logged, SubmitError>> {
        let (reply, answer) = oneshot::channel();
        if let Some(permit) = self.permit.take() {
            permit.send(Submission { entry, reply });
        }
        answer
    }
}

impl Drop for PoolSlot {
    /// Counted out of the submissions being verified only once queued (or
    /// given up), so the sequencer never sees one that is neither.
    fn drop(&mut self) {
        self.verifying.count.fetch_sub(1, Ordering::SeqCst);
        self.verifying.fell.notify_one();
    }
}

/// Why the sequencer could not load the tree.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored checkpoint does not parse, or is not signed by this log.
    #[error("the stored checkpoint is not a valid checkpoint of this log: {0}")]
    Checkpoint(#[source] sigtrail_note::Error),
    /// The stored checkpoint is another log's.
    #[error("the stored checkpoint is of log {found:?}, not of this log")]
    Origin {
        /// The origin the checkpoint names.
        found: String,
    },
    /// The checkpoint and the store disagree on the tree size.
    #[error("the stored checkpoint says size {checkpoint} but the store says {stored}")]
    SizeMismatch {
        /// The size in the checkpoint.
        checkpoint: u64,
        /// The size the store keeps beside it.
        stored: u64,
    },
    /// A tile of the tree's right edge is missing or too narrow.
    #[error("the store lacks tile {0}")]
    MissingTile(String),
    /// The partial entry bundle is missing or too narrow.
    #[error("the store lacks entry bundle {0}")]
    MissingBundle(u64),
    /// Stored tiles or an entry bundle do not decode.
    #[error("the stored tiles or entry bundles are malformed: {0}")]
    Malformed(#[source] sigtrail_merkle::Error),
    /// The stored tiles do not hash to the checkpoint's root.
    #[error("the stored tiles give root {tiles} but the checkpoint says {checkpoint}")]
    RootMismatch {
        /// The root the tiles give.
        tiles: Hash,
        /// The root the checkpoint states.
        checkpoint: Hash,
    },
}

/// Why a batch was not committed.
#[derive(Debug, thiserror::Error)]
enum CommitError {
    /// The store failed or refused the commit.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// After a failed commit the tree could not be reloaded.
    #[error("cannot reload the tree: {0}")]
    Load(#[from] LoadError),
    /// The log key could not sign the new checkpoint.
    #[error("cannot sign the checkpoint: {0}")]
    Sign(#[source] sigtrail_note::Error),
    /// An entry bundle could not be encoded.
    #[error("cannot encode an entry bundle: {0}")]
    Bundle(#[source] sigtrail_merkle::Error),
    /// A tile the tree produced has the wrong length (a bug).
    #[error("cannot read a new tile: {0}")]
    Tile(#[source] sigtrail_merkle::Error),
}

/// The single writer of the log. Drive it with [`Sequencer::run`], or by
/// hand with [`Sequencer::step`] in tests.
pub struct Sequencer {
    store: Arc<dyn Store>,
    identity: Arc<LogIdentity>,
    reader: TileReader,
    published: watch::Sender<Arc<Published>>,
    tree: TiledTree,
    edge_tiles: HashMap<(u8, u64), Arc<TileNodes>>,
    bundle: PartialBundle,
    rx: mpsc::Receiver<Submission>,
    verifying: Arc<Verifying>,
    config: SequencerConfig,
    metrics: Arc<Metrics>,
    /// A commit failed: the store may be ahead of `tree`; reload first.
    stale: bool,
    /// Look the next batch's leaf hashes up before placing it: the last
    /// batch held logged entries, or its commit failed. Off while batches
    /// hold only new entries, since the store refuses a batch with a
    /// logged leaf hash anyway.
    probe_first: bool,
    witnesses: Arc<Witnesses>,
    /// The tree size whose checkpoint a quorum of witnesses cosigned.
    witnessed: u64,
}

/// The rightmost entry bundle, still filling.
#[derive(Clone, Default)]
struct PartialBundle {
    index: u64,
    entries: Vec<Vec<u8>>,
}

impl Sequencer {
    /// Loads the tree from the store and returns the sequencer, the handle
    /// submitters use, and a reader for the API.
    ///
    /// # Errors
    ///
    /// When the store fails or its tree does not match its checkpoint.
    pub async fn load(
        store: Arc<dyn Store>,
        identity: Arc<LogIdentity>,
        config: SequencerConfig,
        witnesses: Arc<Witnesses>,
        metrics: Arc<Metrics>,
    ) -> Result<(Sequencer, SequencerHandle, TileReader), LoadError> {
        let (published, published_rx) = watch::channel(Arc::new(Published::empty()));
        let reader = TileReader::new(store.clone(), published_rx, config.cache_tiles);
        let (tx, rx) = mpsc::channel(config.pool_size.max(1));
        let verifying = Arc::new(Verifying::default());
        let mut sequencer = Sequencer {
            store,
            identity,
            reader: reader.clone(),
            published,
            tree: TiledTree::new(),
            edge_tiles: HashMap::new(),
            bundle: PartialBundle::default(),
            rx,
            verifying: verifying.clone(),
            config,
            metrics,
            stale: false,
            probe_first: false,
            witnesses,
            witnessed: 0,
        };
        sequencer.reload().await?;
        Ok((sequencer, SequencerHandle { tx, verifying }, reader))
    }

    /// Reads the latest checkpoint and the tree's right edge from the store.
    async fn reload(&mut self) -> Result<(), LoadError> {
        // 1. The checkpoint must be ours and well formed.
        let stored = self.store.checkpoint().await?;
        let head = self.verify_checkpoint(&stored.text)?;
        if head.size != stored.size {
            return Err(LoadError::SizeMismatch {
                checkpoint: head.size,
                stored: stored.size,
            });
        }
        // 2. The partial tiles rebuild the compact range and the edge.
        let ids = TiledTree::edge_tiles(head.size);
        let keys: Vec<_> = ids.iter().map(|id| (id.level, id.index)).collect();
        let mut stored_tiles = self.store.tiles(&keys).await?;
        let mut tiles = Vec::with_capacity(ids.len());
        for id in ids {
            let width = id.width as usize * 32;
            let mut data = stored_tiles
                .remove(&(id.level, id.index))
                .filter(|d| d.len() >= width)
                .ok_or_else(|| LoadError::MissingTile(id.path()))?;
            data.truncate(width);
            tiles.push((id, data));
        }
        let tree = TiledTree::from_tiles(head.size, &tiles).map_err(LoadError::Malformed)?;
        let edge_tiles = tiles
            .into_iter()
            .map(|(id, data)| Ok(((id.level, id.index), Arc::new(TileNodes::new(id, &data)?))))
            .collect::<Result<_, _>>()
            .map_err(LoadError::Malformed)?;
        if tree.root() != head.root {
            return Err(LoadError::RootMismatch {
                tiles: tree.root(),
                checkpoint: head.root,
            });
        }
        // 3. The partial entry bundle, if the tree does not end on a bundle.
        let bundle = self.load_partial_bundle(head.size).await?;
        self.tree = tree;
        self.edge_tiles = edge_tiles;
        self.bundle = bundle;
        self.stale = false;
        self.publish(head, stored.text);
        Ok(())
    }

    fn verify_checkpoint(&self, text: &[u8]) -> Result<TreeHead, LoadError> {
        let note = Note::parse(text).map_err(LoadError::Checkpoint)?;
        note.verify(std::slice::from_ref(self.identity.vkey()))
            .map_err(LoadError::Checkpoint)?;
        let checkpoint = Checkpoint::parse(note.text()).map_err(LoadError::Checkpoint)?;
        if checkpoint.origin != self.identity.origin() {
            return Err(LoadError::Origin {
                found: checkpoint.origin,
            });
        }
        Ok(checkpoint.head)
    }

    async fn load_partial_bundle(&self, size: u64) -> Result<PartialBundle, LoadError> {
        let index = size / BUNDLE_WIDTH as u64;
        let width = (size % BUNDLE_WIDTH as u64) as usize;
        if width == 0 {
            return Ok(PartialBundle {
                index,
                entries: Vec::new(),
            });
        }
        let missing = || LoadError::MissingBundle(index);
        let (_, data) = self.store.bundle(index).await?.ok_or_else(missing)?;
        let entries = sigtrail_merkle::decode_entry_bundle(&data).map_err(LoadError::Malformed)?;
        if entries.len() < width {
            return Err(missing());
        }
        Ok(PartialBundle {
            index,
            entries: entries[..width].iter().map(|e| e.to_vec()).collect(),
        })
    }

    fn publish(&self, head: TreeHead, checkpoint: Vec<u8>) {
        let edge_bundle = (!self.bundle.entries.is_empty())
            .then(|| (self.bundle.index, self.bundle.entries.clone()));
        self.metrics.tree_size.set(head.size as i64);
        self.published.send_replace(Arc::new(Published {
            head,
            checkpoint: checkpoint.into(),
            edge_tiles: self.edge_tiles.clone(),
            edge_bundle,
        }));
    }

    /// Integrates every submission queued right now (up to the batch limit)
    /// and returns how many were answered.
    pub async fn step(&mut self) -> usize {
        let mut batch = Vec::new();
        while batch.len() < self.config.max_batch {
            match self.rx.try_recv() {
                Ok(submission) => batch.push(submission),
                Err(_) => break,
            }
        }
        let count = batch.len();
        if count > 0 {
            self.integrate(batch).await;
        }
        count
    }

    /// Runs until every handle is dropped and the pool is drained.
    ///
    /// Group commit: submissions that arrive while a batch commits wait in
    /// the pool and form the next batch, taken at once. A submission that
    /// finds the log idle waits, up to the batch interval, only for the
    /// submissions that are being verified at that moment; with none, it
    /// is committed at once.
    pub async fn run(mut self) {
        let mut batch = Vec::with_capacity(self.config.max_batch);
        loop {
            // 1. Wait for the first submission of the next batch.
            let idle = self.rx.is_empty();
            if self.rx.recv_many(&mut batch, self.config.max_batch).await == 0 {
                tracing::info!("sequencer stopped: pool closed and drained");
                return;
            }
            // 2. After an idle spell, let the batch take in the submissions
            //    still being verified, until it is full or the interval
            //    passes.
            if idle {
                self.fill(&mut batch).await;
            }
            // 3. Integrate it.
            self.integrate(std::mem::take(&mut batch)).await;
        }
    }

    /// Adds to `batch` the submissions that are being verified now, as
    /// they are queued, until none is left, the batch is full or the batch
    /// interval has passed.
    async fn fill(&mut self, batch: &mut Vec<Submission>) {
        let deadline = tokio::time::Instant::now() + self.config.batch_interval;
        while batch.len() < self.config.max_batch {
            let fell = self.verifying.fell.notified();
            if self.rx.is_empty() && self.verifying.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            let room = self.config.max_batch - batch.len();
            tokio::select! {
                received = self.rx.recv_many(batch, room) => {
                    if received == 0 {
                        return;
                    }
                }
                () = fell => {}
                () = tokio::time::sleep_until(deadline) => return,
            }
        }
    }

    /// Commits a batch (retrying once after a reload) and answers it.
    async fn integrate(&mut self, batch: Vec<Submission>) {
        let span = tracing::info_span!("batch", entries = batch.len(), old_size = self.tree.size());
        self.integrate_in_span(batch).instrument(span).await;
    }

    /// [`Sequencer::integrate`] inside the batch's span: a span entered
    /// across an `await` would also cover other tasks run on the thread.
    async fn integrate_in_span(&mut self, batch: Vec<Submission>) {
        let started = Instant::now();
        match self.commit_with_retry(&batch).await {
            Ok(placed) => {
                let head = self.tree.head();
                tracing::info!(
                    new_size = head.size,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "batch committed"
                );
                self.metrics.observe_batch(batch.len(), started.elapsed());
                let checkpoint = self.witness(head).await;
                tokio::spawn(answer(
                    self.reader.clone(),
                    self.metrics.clone(),
                    batch,
                    placed,
                    head,
                    checkpoint,
                ));
            }
            Err(error) => {
                tracing::error!(%error, "batch not committed; submitters told to retry");
                for submission in batch {
                    self.metrics.count_submission("unavailable");
                    let _ = submission.reply.send(Err(SubmitError::Unavailable));
                }
            }
        }
    }

    /// Commits a batch; after a failure, reloads the tree and tries once more.
    /// A batch refused because one of its leaf hashes is logged changed
    /// nothing: it is placed again at once with its leaf hashes looked up.
    async fn commit_with_retry(
        &mut self,
        batch: &[Submission],
    ) -> Result<Vec<(u64, bool)>, CommitError> {
        let mut probe = self.probe_first;
        let mut failures = 0;
        loop {
            // 1. After a failed commit the store may hold more than we know.
            if self.stale {
                self.reload().await?;
            }
            // 2. Try the batch.
            match self.try_commit(batch, probe).await {
                Ok(placed) => {
                    self.probe_first = probe && placed.iter().any(|&(_, new)| !new);
                    return Ok(placed);
                }
                // Refused once for a logged entry: look up and place again.
                // A second refusal counts as a failure.
                Err(CommitError::Store(StoreError::DuplicateLeaf { index, logged_at }))
                    if !probe =>
                {
                    tracing::debug!(
                        index,
                        logged_at,
                        "batch holds a logged entry; looking it up"
                    );
                    probe = true;
                }
                Err(error) => {
                    self.stale = true;
                    // The failed commit may have logged the batch after all.
                    probe = true;
                    failures += 1;
                    if failures == 2 {
                        self.probe_first = true;
                        return Err(error);
                    }
                    tracing::warn!(%error, "commit failed; reloading the tree");
                }
            }
        }
    }

    /// The checkpoint of `head` with a quorum of witness cosignatures:
    /// already at hand, or asked for now and stored.
    async fn witness(&mut self, head: TreeHead) -> Result<Vec<u8>, SubmitError> {
        let published = self.reader.published();
        let quorum = self.witnesses.quorum();
        if quorum == 0 || self.witnessed == head.size {
            return Ok(published.checkpoint.to_vec());
        }
        let (cosigned, count) = self
            .witnesses
            .cosign(&self.reader, &published.checkpoint, head)
            .await;
        if count < quorum {
            tracing::warn!(
                size = head.size,
                cosignatures = count,
                quorum,
                "checkpoint not witnessed"
            );
            return Err(SubmitError::NotWitnessed);
        }
        if let Err(error) = self.store.update_checkpoint(head.size, &cosigned).await {
            tracing::warn!(%error, "cannot store the cosigned checkpoint");
            self.stale = true;
            return Err(SubmitError::NotWitnessed);
        }
        self.witnessed = head.size;
        self.publish(head, cosigned.clone());
        Ok(cosigned)
    }

    /// Places every submission in the tree, writes the batch, and on success
    /// makes it the sequencer's state. Returns each submission's index and
    /// whether it is new.
    async fn try_commit(
        &mut self,
        batch: &[Submission],
        probe: bool,
    ) -> Result<Vec<(u64, bool)>, CommitError> {
        // 1. Deduplicate within the batch, and against the store if `probe`.
        let leaves: Vec<Hash> = batch.iter().map(|s| s.entry.leaf_hash()).collect();
        let logged: HashMap<Hash, u64> = if probe {
            self.store.find_leaves(&leaves).await?.into_iter().collect()
        } else {
            HashMap::new()
        };
        let mut tree = self.tree.clone();
        let mut bundle = self.bundle.clone();
        let old_size = tree.size();
        let mut placed = Vec::with_capacity(batch.len());
        let mut fresh: HashMap<Hash, u64> = HashMap::new();
        let mut entries = Vec::new();
        let mut bundles = Vec::new();
        for (submission, leaf) in batch.iter().zip(&leaves) {
            if let Some(&index) = logged.get(leaf) {
                placed.push((index, false));
                continue;
            }
            if let Some(&index) = fresh.get(leaf) {
                placed.push((index, true));
                continue;
            }
            // 2. Append the leaf and its entry to the tree and the bundle.
            let index = tree.size();
            tree.append(*leaf);
            fresh.insert(*leaf, index);
            placed.push((index, true));
            entries.push(record(index, &submission.entry));
            bundle.entries.push(submission.entry.as_bytes().to_vec());
            if bundle.entries.len() == BUNDLE_WIDTH {
                bundles.push(bundle_data(&bundle)?);
                bundle = PartialBundle {
                    index: bundle.index + 1,
                    entries: Vec::new(),
                };
            }
        }
        if entries.is_empty() {
            return Ok(placed);
        }
        if !bundle.entries.is_empty() {
            bundles.push(bundle_data(&bundle)?);
        }
        // 3. New tiles and a signed checkpoint, then one atomic commit.
        let tiles = tree.take_tiles();
        let nodes = tiles
            .iter()
            .map(|(id, data)| TileNodes::new(*id, data).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(CommitError::Tile)?;
        let head = tree.head();
        let checkpoint = self
            .identity
            .sign_checkpoint(head)
            .map_err(CommitError::Sign)?;
        self.store
            .commit(&Batch {
                old_size,
                new_size: head.size,
                entries,
                tiles: tiles
                    .iter()
                    .map(|(id, data)| TileData {
                        level: id.level,
                        index: id.index,
                        data: data.clone(),
                    })
                    .collect(),
                bundles,
                checkpoint: checkpoint.clone(),
            })
            .await?;
        // 4. Committed: adopt the new state and publish it.
        self.tree = tree;
        self.bundle = bundle;
        for tile in nodes {
            self.adopt_tile(tile);
        }
        self.publish(head, checkpoint);
        Ok(placed)
    }

    fn adopt_tile(&mut self, tile: Arc<TileNodes>) {
        let id = tile.tile();
        if id.is_full() {
            self.edge_tiles.remove(&(id.level, id.index));
            self.reader.remember_full_tile(tile);
        } else {
            self.edge_tiles.insert((id.level, id.index), tile);
        }
    }
}

fn record(index: u64, entry: &SignedEntry) -> EntryRecord {
    let event = entry.event();
    EntryRecord {
        index,
        leaf_hash: entry.leaf_hash(),
        signer: event.key.to_string(),
        subject: event.subject,
        name: event.name.clone(),
    }
}

fn bundle_data(bundle: &PartialBundle) -> Result<BundleData, CommitError> {
    let data = encode_entry_bundle(bundle.entries.iter().map(Vec::as_slice))
        .map_err(CommitError::Bundle)?;
    Ok(BundleData {
        index: bundle.index,
        width: bundle.entries.len() as u16,
        data,
    })
}

/// Builds every submitter's bundle and sends it.
async fn answer(
    reader: TileReader,
    metrics: Arc<Metrics>,
    batch: Vec<Submission>,
    placed: Vec<(u64, bool)>,
    head: TreeHead,
    checkpoint: Result<Vec<u8>, SubmitError>,
) {
    let checkpoint = match checkpoint {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            for submission in batch {
                metrics.count_submission("unwitnessed");
                let _ = submission.reply.send(Err(error));
            }
            return;
        }
    };
    let indexes: Vec<u64> = placed.iter().map(|(index, _)| *index).collect();
    let proofs = match reader.inclusion_proofs(&indexes, head.size).await {
        Ok(proofs) => proofs,
        Err(error) => {
            tracing::error!(%error, "cannot build the bundles of logged entries");
            for submission in batch {
                metrics.count_submission("unavailable");
                let _ = submission.reply.send(Err(SubmitError::Unavailable));
            }
            return;
        }
    };
    for ((submission, (index, new)), proof) in batch.into_iter().zip(placed).zip(proofs) {
        metrics.count_submission(if new { "new" } else { "duplicate" });
        let bundle = tlog_proof(&submission.entry, index, proof, &checkpoint);
        let _ = submission.reply.send(Ok(Logged { index, new, bundle }));
    }
}

/// The C2SP tlog-proof text of an entry: the entry in the `extra` line,
/// its index, its inclusion proof and the signed checkpoint.
fn tlog_proof(entry: &SignedEntry, index: u64, proof: Vec<Hash>, checkpoint: &[u8]) -> Vec<u8> {
    TlogProof {
        extra: Some(entry.as_bytes().to_vec()),
        index,
        proof,
        checkpoint: checkpoint.to_vec(),
    }
    .to_text()
}

#[cfg(test)]
mod tests;
