//! Auditing a whole log from its tiles: every entry's signature, every
//! level 0 tile against the entries, the root recomputed from the leaves,
//! and consistency with the last checkpoint audited. Resumable.

use serde::{Deserialize, Serialize};
use sigtrail_merkle::{
    consistency_proof_nodes, decode_entry_bundle, leaf_hash, prove_consistency, tile_hashes,
    tiles_for_nodes, BundleId, CompactRange, Hash, TileHashReader, TileId, TreeHead, TILE_WIDTH,
};
use sigtrail_note::{Checkpoint, SignedEntry};

use crate::verify::verify_consistency;
use crate::{Client, Error, Policy};

/// What an audit remembers between runs, saved as JSON in a state file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditState {
    /// The last checkpoint fully audited, verbatim; `None` before the first.
    pub checkpoint: Option<String>,
    /// Leaves audited so far (may run ahead of `checkpoint` when an audit
    /// was interrupted).
    pub size: u64,
    /// The compact range of those leaves, base64 hashes, largest first.
    pub range: Vec<String>,
}

/// What one audit run did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Tree size of the previous audited checkpoint (0 on the first run).
    pub previous_size: u64,
    /// Tree size of the checkpoint audited now.
    pub size: u64,
    /// Root hash of the checkpoint audited now, base64.
    pub root: String,
    /// Entries whose signatures were checked in this run.
    pub entries_checked: u64,
}

impl AuditState {
    pub(crate) fn compact_range(&self) -> Result<CompactRange, Error> {
        let hashes = self
            .range
            .iter()
            .map(|h| h.parse::<Hash>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::StateFile)?;
        CompactRange::from_hashes(self.size, hashes).map_err(Error::StateFile)
    }

    pub(crate) fn audited_head(&self, policy: &Policy) -> Result<Option<TreeHead>, Error> {
        self.checkpoint
            .as_ref()
            .map(|text| policy.verify_checkpoint(text.as_bytes()).map(|c| c.head))
            .transpose()
    }
}

/// Audits the log behind `client` up to its current checkpoint.
///
/// 1. Fetch the checkpoint and verify it under `policy`; it must not be
///    smaller than the last one audited.
/// 2. For each entry bundle from `state.size` on: verify every entry's
///    signature, check the level 0 tile holds their leaf hashes, and
///    append them to the compact range; call `save` after each bundle so an
///    interrupted audit resumes there, and `progress` with the leaves done.
/// 3. The recomputed root must be the checkpoint's.
/// 4. The consistency proof from the last audited checkpoint to this one,
///    computed from the log's tiles, must verify.
///
/// # Errors
///
/// Evidence ([`Error::RootMismatch`], [`Error::TileMismatch`],
/// [`Error::LoggedEntry`], [`Error::Consistency`], [`Error::Rollback`],
/// checkpoint errors) or a transient or state-file error.
pub async fn audit(
    client: &Client,
    policy: &Policy,
    state: &mut AuditState,
    mut progress: impl FnMut(u64, u64),
    mut save: impl FnMut(&AuditState) -> Result<(), Error>,
) -> Result<AuditReport, Error> {
    let signed = client.checkpoint().await?;
    let checkpoint = policy.verify_checkpoint(&signed)?;
    let head = checkpoint.head;
    let old = state.audited_head(policy)?;
    let old_size = old.map_or(0, |h| h.size);
    if head.size < state.size {
        return Err(Error::Rollback {
            old: state.size,
            new: head.size,
        });
    }
    let start = state.size;
    let mut check = |index, bytes: &[u8]| {
        SignedEntry::parse(bytes)
            .map(|_| ())
            .map_err(|source| Error::LoggedEntry { index, source })
    };
    walk(client, state, &head, &mut check, &mut progress, &mut save).await?;
    if let Some(old) = old {
        check_consistency(client, &old, &head).await?;
    }
    state.checkpoint = Some(String::from_utf8_lossy(&signed).into_owned());
    save(state)?;
    Ok(report(old_size, &checkpoint, head.size - start))
}

/// Walks the entry bundles from `state.size` up to `head`: passes each new
/// entry to `visit` with its index, checks the level 0 tiles hold their
/// leaf hashes, appends them to the compact range, calls `save` after each
/// bundle and `progress` with the leaves done; finally the recomputed root
/// must be `head`'s.
pub(crate) async fn walk(
    client: &Client,
    state: &mut AuditState,
    head: &TreeHead,
    visit: &mut impl FnMut(u64, &[u8]) -> Result<(), Error>,
    progress: &mut impl FnMut(u64, u64),
    save: &mut impl FnMut(&AuditState) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut range = state.compact_range()?;
    while range.size() < head.size {
        append_bundle(client, &mut range, head.size, visit).await?;
        state.size = range.size();
        state.range = range.hashes().iter().map(Hash::to_string).collect();
        save(state)?;
        progress(range.size(), head.size);
    }
    if range.root() != head.root {
        return Err(Error::RootMismatch { size: head.size });
    }
    Ok(())
}

fn report(previous_size: u64, checkpoint: &Checkpoint, entries_checked: u64) -> AuditReport {
    AuditReport {
        previous_size,
        size: checkpoint.head.size,
        root: checkpoint.head.root.to_string(),
        entries_checked,
    }
}

/// Appends the leaves of the bundle holding leaf `range.size()` (up to
/// the end of that bundle or `size`) after passing each new entry to
/// `visit` and checking the level 0 tile holds their leaf hashes.
async fn append_bundle(
    client: &Client,
    range: &mut CompactRange,
    size: u64,
    visit: &mut impl FnMut(u64, &[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let width = u64::from(TILE_WIDTH);
    let index = range.size() / width;
    let count = (size - index * width).min(width);
    let id = BundleId {
        index,
        width: count as u16,
    };
    let data = client.entry_bundle(id).await?;
    let entries = decode_entry_bundle(&data).map_err(|source| Error::Response {
        url: id.path(),
        source,
    })?;
    let skip = (range.size() - index * width) as usize;
    let entries = entries.get(..count as usize).unwrap_or(&entries);
    for (i, bytes) in entries.iter().enumerate().skip(skip) {
        visit(index * width + i as u64, bytes)?;
    }
    let leaves: Vec<Hash> = entries.iter().map(|bytes| leaf_hash(bytes)).collect();
    let tile = client
        .tile(TileId {
            level: 0,
            index,
            width: count as u16,
        })
        .await?;
    let tiled = tile_hashes(&tile).map_err(|source| Error::Response {
        url: id.path(),
        source,
    })?;
    if leaves.len() as u64 != count || tiled != leaves {
        return Err(Error::TileMismatch { index });
    }
    for leaf in &leaves[skip..] {
        range.append(*leaf, |_, _| {});
    }
    Ok(())
}

/// Verifies a consistency proof from `old` to `new` built from the log's
/// tiles, which also checks the tiles above level 0.
async fn check_consistency(client: &Client, old: &TreeHead, new: &TreeHead) -> Result<(), Error> {
    let proof = consistency_from_tiles(client, old.size, new.size).await?;
    verify_consistency(old, new, &proof)
}

/// The consistency proof from tree size `old` to `new` (empty when `old`
/// is 0 or not smaller than `new`), computed from the log's tiles.
pub(crate) async fn consistency_from_tiles(
    client: &Client,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, Error> {
    if old == 0 || old >= new {
        return Ok(Vec::new());
    }
    let fail = |source| Error::Consistency { old, new, source };
    let nodes = consistency_proof_nodes(old, new).map_err(fail)?;
    let mut tiles = std::collections::HashMap::new();
    for tile in tiles_for_nodes(&nodes, new) {
        tiles.insert(tile, client.tile(tile).await?);
    }
    let reader = TileHashReader::new(new, &tiles);
    prove_consistency(old, new, &reader).map_err(fail)
}
