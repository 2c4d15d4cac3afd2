//! Throughput of the tree's hot paths.
//!
//! `append` puts the sequencer's work per leaf (hash the entry, append it to
//! a compact range or to the tiled writer) next to the cost of two raw RFC
//! 6962 node hashes per leaf. `proofs` measures proving through tiles (what a
//! server or client does), through a map of node hashes, and verifying.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use sigtrail_merkle::{
    leaf_hash, node_hash, prove_consistency, prove_inclusion, verify_consistency, verify_inclusion,
    CompactRange, Error, Hash, HashReader, NodeId, TileHashReader, TiledTree, TreeHead,
};

const BATCH: u64 = 4096;
const TREE_SIZE: u64 = 1_000_003;

fn entries(n: u64) -> Vec<[u8; 8]> {
    (0..n).map(u64::to_be_bytes).collect()
}

fn append(c: &mut Criterion) {
    let entries = entries(BATCH);
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("raw_sha256_two_node_hashes_per_leaf", |b| {
        b.iter(|| {
            let mut h = Hash::default();
            for _ in 0..BATCH {
                h = node_hash(&h, &h);
                h = node_hash(&h, &h);
            }
            black_box(h)
        })
    });
    g.bench_function("compact_range_leaf_hash_and_append", |b| {
        b.iter_batched_ref(
            CompactRange::new,
            |range| {
                for e in &entries {
                    range.append(leaf_hash(e), |_, _| {});
                }
                black_box(range.root())
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("tiled_tree_leaf_hash_append_and_take_tiles", |b| {
        b.iter_batched_ref(
            TiledTree::new,
            |tree| {
                for e in &entries {
                    tree.append(leaf_hash(e));
                }
                black_box(tree.take_tiles())
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// Every complete node hash, in memory.
struct NodeStore(HashMap<NodeId, Hash>);

impl HashReader for NodeStore {
    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Error> {
        Ok(nodes.iter().map(|n| self.0[n]).collect())
    }
}

/// A tree of `TREE_SIZE` leaves as tiles and as a node map, its head, and
/// spread-out leaf indices to prove.
fn fixture() -> (
    HashMap<sigtrail_merkle::TileId, Vec<u8>>,
    NodeStore,
    TreeHead,
    Vec<u64>,
) {
    let mut tree = TiledTree::new();
    let mut nodes = HashMap::new();
    let mut range = CompactRange::new();
    for e in entries(TREE_SIZE) {
        let leaf = leaf_hash(&e);
        tree.append(leaf);
        range.append(leaf, |n, h| {
            nodes.insert(n, *h);
        });
    }
    let tiles = tree.take_tiles().into_iter().collect();
    let indices = (0..1024u64).map(|i| i * 976_567 % TREE_SIZE).collect();
    (tiles, NodeStore(nodes), tree.head(), indices)
}

fn proofs(c: &mut Criterion) {
    let (tiles, store, head, indices) = fixture();
    let by_tiles = TileHashReader::new(head.size, &tiles);
    let mut g = c.benchmark_group("proofs");
    g.throughput(Throughput::Elements(indices.len() as u64));
    g.bench_function("prove_inclusion_from_tiles", |b| {
        b.iter(|| {
            for &i in &indices {
                black_box(prove_inclusion(i, head.size, &by_tiles).unwrap());
            }
        })
    });
    g.bench_function("prove_inclusion_from_node_map", |b| {
        b.iter(|| {
            for &i in &indices {
                black_box(prove_inclusion(i, head.size, &store).unwrap());
            }
        })
    });
    let inclusion: Vec<(Hash, u64, Vec<Hash>)> = indices
        .iter()
        .map(|&i| {
            let leaf = leaf_hash(&i.to_be_bytes());
            (leaf, i, prove_inclusion(i, head.size, &store).unwrap())
        })
        .collect();
    g.bench_function("verify_inclusion", |b| {
        b.iter(|| {
            for (leaf, i, proof) in &inclusion {
                verify_inclusion(leaf, *i, &head, proof).unwrap();
            }
        })
    });
    g.bench_function("prove_consistency_from_tiles", |b| {
        b.iter(|| {
            for &old in &indices {
                black_box(prove_consistency(old + 1, head.size, &by_tiles).unwrap());
            }
        })
    });
    let consistency: Vec<(TreeHead, Vec<Hash>)> = indices
        .iter()
        .map(|&old| {
            let old_head = TreeHead {
                size: old + 1,
                root: sigtrail_merkle::tree_root(old + 1, &store).unwrap(),
            };
            (
                old_head,
                prove_consistency(old + 1, head.size, &store).unwrap(),
            )
        })
        .collect();
    g.bench_function("verify_consistency", |b| {
        b.iter(|| {
            for (old_head, proof) in &consistency {
                verify_consistency(old_head, &head, proof).unwrap();
            }
        })
    });
    g.finish();
}

/// Runs both groups with the command line's settings.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    append(&mut c);
    proofs(&mut c);
}

criterion_main!(benches);
