//! Exhaustive cross-checks against the naive reference on small trees, and
//! the tiled writer against the tlog-tiles definition of tiles.

mod reference;

use std::collections::{BTreeSet, HashMap};

use reference::{tiles, Reference};
use sigtrail_merkle::{
    consistency_proof_from_hashes, consistency_proof_nodes, inclusion_proof_from_hashes,
    inclusion_proof_nodes, new_tiles, prove_consistency, prove_inclusion, root_of, tiles_for_nodes,
    tree_root, verify_consistency, verify_inclusion, CompactRange, Error, Hash, HashReader, NodeId,
    TileHashReader, TileId, TiledTree, TreeHead,
};

/// Every complete node hash, as a sequencer's storage would hold them.
struct NodeStore(HashMap<NodeId, Hash>);

impl HashReader for NodeStore {
    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Error> {
        nodes
            .iter()
            .map(|n| {
                self.0.get(n).copied().ok_or(Error::NodeNotInTree {
                    level: n.level,
                    index: n.index,
                    size: 0,
                })
            })
            .collect()
    }
}

fn tile_map(r: &Reference, ids: impl IntoIterator<Item = TileId>) -> HashMap<TileId, Vec<u8>> {
    ids.into_iter().map(|t| (t, r.tile_data(&t))).collect()
}

/// Proves through the two-step API, fetching only the tiles the nodes need.
fn fetch_then_prove(
    nodes: &[NodeId],
    size: u64,
    r: &Reference,
    fold: impl Fn(&[Hash]) -> Result<Vec<Hash>, Error>,
) -> Vec<Hash> {
    let fetched = tile_map(r, tiles_for_nodes(nodes, size));
    let hashes = TileHashReader::new(size, &fetched)
        .read_hashes(nodes)
        .unwrap();
    fold(&hashes).unwrap()
}

#[test]
fn proofs_and_roots_match_the_reference_up_to_128() {
    const N: u64 = 128;
    let r = Reference::new(N);
    let all = r.leaves();
    let mut store = NodeStore(HashMap::new());
    let mut range = CompactRange::new();
    let mut checked = 0u64;
    for size in 0..=N {
        if size > 0 {
            range.append(all[size as usize - 1], |n, h| {
                store.0.insert(n, *h);
            });
        }
        let d = &all[..size as usize];
        let root = r.mth(0, size as usize);
        let head = TreeHead { size, root };
        let tiles = tile_map(&r, tiles(size));
        let by_tiles = TileHashReader::new(size, &tiles);
        assert_eq!(range.root(), root);
        assert_eq!(root_of(d), root);
        assert_eq!(tree_root(size, &store).unwrap(), root);
        assert_eq!(tree_root(size, &by_tiles).unwrap(), root);
        for index in 0..size {
            let want = r.path(index as usize, 0, size as usize);
            assert_eq!(prove_inclusion(index, size, &store).unwrap(), want);
            assert_eq!(prove_inclusion(index, size, &by_tiles).unwrap(), want);
            let nodes = inclusion_proof_nodes(index, size).unwrap();
            let got = fetch_then_prove(&nodes, size, &r, |h| {
                inclusion_proof_from_hashes(index, size, h)
            });
            assert_eq!(got, want);
            verify_inclusion(&d[index as usize], index, &head, &want).unwrap();
            checked += 1;
        }
        for old in 0..=size {
            if old == 0 && size > 0 {
                assert_eq!(
                    prove_consistency(0, size, &store),
                    Err(Error::EmptyOldTree { new: size })
                );
                continue;
            }
            let want = r.proof(old as usize, size as usize);
            assert_eq!(prove_consistency(old, size, &store).unwrap(), want);
            assert_eq!(prove_consistency(old, size, &by_tiles).unwrap(), want);
            let nodes = consistency_proof_nodes(old, size).unwrap();
            let got = fetch_then_prove(&nodes, size, &r, |h| {
                consistency_proof_from_hashes(old, size, h)
            });
            assert_eq!(got, want);
            let old_head = TreeHead {
                size: old,
                root: r.mth(0, old as usize),
            };
            verify_consistency(&old_head, &head, &want).unwrap();
            checked += 1;
        }
    }
    // 128 * 129 / 2 inclusion proofs, as many non-trivial consistency proofs
    // plus 129 with old == new... minus the 128 from the empty tree.
    assert_eq!(checked, 2 * (N * (N + 1) / 2) + 1);
}

/// Appends `all` in chunks of `chunk` leaves, taking tiles after each chunk
/// and checking them against the spec. With `resume`, the tree is rebuilt
/// from its stored edge tiles after every chunk.
fn run_chunked(r: &Reference, chunks: &[u64], resume: bool) {
    let all = r.leaves();
    let mut tree = TiledTree::new();
    let mut store: HashMap<(u8, u64), (TileId, Vec<u8>)> = HashMap::new();
    let mut size = 0u64;
    for &chunk in chunks {
        let old = size;
        for leaf in &all[old as usize..(old + chunk) as usize] {
            tree.append(*leaf);
        }
        size += chunk;
        let taken = tree.take_tiles();
        let ids: BTreeSet<TileId> = taken.iter().map(|(t, _)| *t).collect();
        assert_eq!(ids.len(), taken.len(), "a tile taken twice");
        let want: BTreeSet<TileId> = new_tiles(old, size).into_iter().collect();
        assert_eq!(ids, want, "tiles taken growing {old} -> {size}");
        for (tile, data) in taken {
            assert_eq!(data, r.tile_data(&tile), "tile {tile} at size {size}");
            store.insert((tile.level, tile.index), (tile, data));
        }
        let stored: BTreeSet<TileId> = store.values().map(|(t, _)| *t).collect();
        assert_eq!(stored, tiles(size), "stored tiles at size {size}");
        assert_eq!(
            tree.head(),
            TreeHead {
                size,
                root: r.mth(0, size as usize)
            }
        );
        if resume {
            let edges: Vec<(TileId, Vec<u8>)> = TiledTree::edge_tiles(size)
                .iter()
                .map(|t| store[&(t.level, t.index)].clone())
                .collect();
            tree = TiledTree::from_tiles(size, &edges).unwrap();
            assert_eq!(tree.size(), size);
            assert!(tree.take_tiles().is_empty());
        }
    }
}

#[test]
fn tiled_tree_in_every_chunk_size_up_to_600() {
    const N: u64 = 600;
    let r = Reference::new(N);
    for chunk in 1..=N {
        let mut chunks = vec![chunk; (N / chunk) as usize];
        if !N.is_multiple_of(chunk) {
            chunks.push(N % chunk);
        }
        run_chunked(&r, &chunks, false);
        run_chunked(&r, &chunks, true);
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[test]
fn tiled_tree_across_three_levels_in_random_chunks() {
    const N: u64 = 140_000;
    let r = Reference::new(N);
    let mut rng = Rng(0x5eed);
    let mut chunks = Vec::new();
    let mut total = 0;
    while total < N {
        let chunk = (1 + rng.below(6000)).min(N - total);
        chunks.push(chunk);
        total += chunk;
    }
    run_chunked(&r, &chunks, true);
    run_chunked(&r, &[65_535, 1, 255, 1, 256 * 255, N - 131_582], false);
}

#[test]
fn new_tiles_are_the_tiles_that_changed() {
    let all: Vec<BTreeSet<TileId>> = (0..=600).map(tiles).collect();
    for new in 0..=600usize {
        for old in 0..=new {
            let want: Vec<TileId> = all[new].difference(&all[old]).copied().collect();
            assert_eq!(new_tiles(old as u64, new as u64), want, "{old} -> {new}");
        }
    }
    let mut rng = Rng(7);
    for _ in 0..200 {
        let new = rng.below(300_000);
        let old = rng.below(new + 1);
        let want: Vec<TileId> = tiles(new).difference(&tiles(old)).copied().collect();
        assert_eq!(new_tiles(old, new), want, "{old} -> {new}");
    }
}
