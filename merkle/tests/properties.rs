//! Property tests: proofs verify, every tampering with a proof is rejected as
//! evidence, and tile paths and entry bundles round-trip.

use std::collections::HashMap;
use std::sync::OnceLock;

use proptest::prelude::*;
use sigtrail_merkle::{
    decode_entry_bundle, encode_entry_bundle, leaf_hash, prove_consistency, prove_inclusion,
    tree_root, verify_consistency, verify_inclusion, BundleId, CompactRange, Error, Hash,
    HashReader, NodeId, TileId, TilePath, TreeHead,
};

/// Leaves in the tree the proofs are drawn from.
const N: u64 = 3000;

/// Every complete node of a tree of `N` leaves.
struct NodeStore(HashMap<NodeId, Hash>);

impl HashReader for NodeStore {
    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Error> {
        Ok(nodes.iter().map(|n| self.0[n]).collect())
    }
}

fn store() -> &'static NodeStore {
    static STORE: OnceLock<NodeStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let mut nodes = HashMap::new();
        let mut range = CompactRange::new();
        for i in 0..N {
            range.append(leaf(i), |n, h| {
                nodes.insert(n, *h);
            });
        }
        NodeStore(nodes)
    })
}

fn leaf(i: u64) -> Hash {
    leaf_hash(&i.to_be_bytes())
}

fn head(size: u64) -> TreeHead {
    TreeHead {
        size,
        root: tree_root(size, store()).unwrap(),
    }
}

/// Every proof derived from `proof` by flipping one bit, dropping, adding or
/// swapping hashes.
fn tampered(proof: &[Hash]) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        for bit in 0..256 {
            let mut p = proof.to_vec();
            p[i].0[bit / 8] ^= 1 << (bit % 8);
            out.push(p);
        }
        let mut dropped = proof.to_vec();
        dropped.remove(i);
        out.push(dropped);
        for j in i + 1..proof.len() {
            if proof[i] != proof[j] {
                let mut swapped = proof.to_vec();
                swapped.swap(i, j);
                out.push(swapped);
            }
        }
    }
    for i in 0..=proof.len() {
        for extra in [Hash::default(), proof.first().copied().unwrap_or_default()] {
            let mut added = proof.to_vec();
            added.insert(i, extra);
            out.push(added);
        }
    }
    out
}

fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=N).prop_flat_map(|size| (Just(size), 0..size))
}

fn old_and_new() -> impl Strategy<Value = (u64, u64)> {
    (2..=N).prop_flat_map(|new| (1..new, Just(new)))
}

fn tile_id() -> impl Strategy<Value = TileId> {
    (0u8..=63, any::<u64>(), 1u16..=256).prop_map(|(level, index, width)| TileId {
        level,
        index,
        width,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn inclusion_proofs_verify_and_tampering_is_evidence((size, index) in size_and_index()) {
        let head = head(size);
        let proof = prove_inclusion(index, size, store()).unwrap();
        prop_assert_eq!(verify_inclusion(&leaf(index), index, &head, &proof), Ok(()));
        for bad in tampered(&proof) {
            let err = verify_inclusion(&leaf(index), index, &head, &bad).unwrap_err();
            prop_assert!(err.is_evidence(), "{}", err);
        }
        let other = (index + 1) % size;
        if other != index {
            prop_assert!(verify_inclusion(&leaf(index), other, &head, &proof).is_err());
            prop_assert!(verify_inclusion(&leaf(other), index, &head, &proof).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_tampering_is_evidence((old, new) in old_and_new()) {
        let (old_head, new_head) = (head(old), head(new));
        let proof = prove_consistency(old, new, store()).unwrap();
        prop_assert_eq!(verify_consistency(&old_head, &new_head, &proof), Ok(()));
        for bad in tampered(&proof) {
            let err = verify_consistency(&old_head, &new_head, &bad).unwrap_err();
            prop_assert!(err.is_evidence(), "{}", err);
        }
        let swapped = verify_consistency(&new_head, &old_head, &proof);
        prop_assert_eq!(swapped, Err(Error::SizeOrder { old: new, new: old }));
        let mut wrong_root = old_head;
        wrong_root.root.0[31] ^= 1;
        prop_assert_eq!(verify_consistency(&wrong_root, &new_head, &proof), Err(Error::RootMismatch));
    }

    #[test]
    fn tile_paths_round_trip(tile in tile_id(), index in any::<u64>(), width in 1u16..=256) {
        let path = tile.path();
        prop_assert_eq!(TilePath::parse(&path), Ok(TilePath::Hashes(tile)));
        let bundle = BundleId { index, width };
        prop_assert_eq!(TilePath::parse(&bundle.path()), Ok(TilePath::Entries(bundle)));
        prop_assert_eq!(TilePath::Entries(bundle).path(), bundle.path());
    }

    #[test]
    fn non_canonical_spellings_are_rejected(tile in tile_id(), edit in 0usize..8) {
        let path = tile.path();
        let rest = &path["tile/".len()..];
        let (level, index) = rest.split_once('/').unwrap();
        let bad = match edit {
            0 => format!("/{path}"),
            1 => format!("{path}/"),
            2 => format!("tile/0{level}/{index}"),
            3 => format!("tile/{level}/x000/{index}"),
            4 => format!("tile/{}/{index}", u16::from(tile.level) + 64),
            5 => format!("{}.p/0", tile.full().path()),
            6 => format!("{}.p/256", tile.full().path()),
            _ => format!("{}.p/0{}", tile.full().path(), tile.width % 255 + 1),
        };
        prop_assert_eq!(TilePath::parse(&bad), Err(Error::BadTilePath), "{}", bad);
    }

    #[test]
    fn any_parsed_path_formats_back_to_itself(s in "(tile/)?(entries|[0-9]{1,3})?(/x?[0-9]{1,4}){0,8}(\\.p/[0-9]{1,3})?") {
        if let Ok(parsed) = TilePath::parse(&s) {
            prop_assert_eq!(parsed.path(), s);
        }
    }

    #[test]
    fn bundles_round_trip(entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 0..20)) {
        let bundle = encode_entry_bundle(entries.iter().map(Vec::as_slice)).unwrap();
        let decoded = decode_entry_bundle(&bundle).unwrap();
        prop_assert_eq!(decoded, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }

    #[test]
    fn any_decoded_bundle_encodes_back_to_itself(data in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(entries) = decode_entry_bundle(&data) {
            prop_assert_eq!(encode_entry_bundle(entries).unwrap(), data);
        }
    }
}
