use super::*;
use crate::leaf_hash;

fn tile(level: u8, index: u64, width: u16) -> TileId {
    TileId {
        level,
        index,
        width,
    }
}

#[test]
fn spec_example_tree_of_70000() {
    let tiles = new_tiles(0, 70_000);
    let full0 = tiles.iter().filter(|t| t.level == 0 && t.is_full()).count();
    assert_eq!(full0, 273);
    let others: Vec<TileId> = tiles
        .iter()
        .copied()
        .filter(|t| t.level > 0 || !t.is_full())
        .collect();
    assert_eq!(
        others,
        vec![
            tile(0, 273, 112),
            tile(1, 0, 256),
            tile(1, 1, 17),
            tile(2, 0, 1)
        ]
    );
    // "A tree of size 256 will be represented by a full level 0 tile and a
    // partial level 1 tile of width 1."
    assert_eq!(new_tiles(0, 256), vec![tile(0, 0, 256), tile(1, 0, 1)]);
}

#[test]
fn new_tiles_when_growing() {
    assert!(new_tiles(5, 5).is_empty());
    assert!(new_tiles(6, 5).is_empty());
    assert_eq!(new_tiles(5, 6), vec![tile(0, 0, 6)]);
    assert_eq!(
        new_tiles(255, 513),
        vec![
            tile(0, 0, 256),
            tile(0, 1, 256),
            tile(0, 2, 1),
            tile(1, 0, 2)
        ]
    );
    assert_eq!(
        new_tiles(65535, 65536),
        vec![tile(0, 255, 256), tile(1, 0, 256), tile(2, 0, 1)]
    );
    assert_eq!(
        new_tiles(u64::MAX - 1, u64::MAX),
        vec![tile(0, u64::MAX >> 8, 255)]
    );
}

#[test]
fn tile_for_node_geometry() {
    // A leaf, and the nodes hashed out of the same level 0 tile.
    assert_eq!(
        tile_for_node(NodeId::new(0, 300), 1000),
        Ok(tile(0, 1, 256))
    );
    assert_eq!(
        tile_for_node(NodeId::new(0, 999), 1000),
        Ok(tile(0, 3, 232))
    );
    assert_eq!(
        tile_for_node(NodeId::new(3, 124), 1000),
        Ok(tile(0, 3, 232))
    );
    assert_eq!(tile_for_node(NodeId::new(7, 7), 1024), Ok(tile(0, 3, 256)));
    // Level 8 nodes are the hashes of level 1 tiles.
    assert_eq!(tile_for_node(NodeId::new(8, 2), 1000), Ok(tile(1, 0, 3)));
    assert_eq!(
        tile_for_node(NodeId::new(3, 125), 1000),
        Err(Error::NodeNotInTree {
            level: 3,
            index: 125,
            size: 1000
        })
    );
    assert!(tile_for_node(NodeId::new(64, 0), u64::MAX).is_err());
    assert_eq!(
        tile_for_node(NodeId::new(63, 0), u64::MAX),
        Ok(tile(7, 0, 255))
    );
}

#[test]
fn hash_from_tile_checks_its_inputs() {
    let leaves: Vec<Hash> = (0..10u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let t = tile(0, 0, 10);
    let data = tile_data(&leaves);
    assert_eq!(hash_from_tile(NodeId::new(0, 9), &t, &data), Ok(leaves[9]));
    assert_eq!(
        hash_from_tile(NodeId::new(2, 1), &t, &data),
        Ok(root_of(&leaves[4..8]))
    );
    let outside = Error::NodeNotInTile {
        level: 2,
        index: 2,
        tile: t,
    };
    assert_eq!(hash_from_tile(NodeId::new(2, 2), &t, &data), Err(outside));
    assert!(hash_from_tile(NodeId::new(0, 300), &t, &data).is_err());
    assert!(hash_from_tile(NodeId::new(8, 0), &t, &data).is_err());
    assert_eq!(
        hash_from_tile(NodeId::new(0, 0), &t, &data[1..]),
        Err(Error::WrongTileLength {
            got: 319,
            want: 320
        })
    );
    assert!(tile_hashes(&data[1..]).is_err());
}

#[test]
fn reader_uses_exact_or_full_tile_and_reports_missing() {
    let leaves: Vec<Hash> = (0..256u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let mut tiles = HashMap::new();
    tiles.insert(tile(0, 0, 256), tile_data(&leaves));
    let r = TileHashReader::new(10, &tiles);
    assert_eq!(crate::proof::tree_root(10, &r), Ok(root_of(&leaves[..10])));
    let r = TileHashReader::new(300, &tiles);
    assert_eq!(
        r.read_hashes(&[NodeId::new(0, 299)]),
        Err(Error::MissingTile(tile(0, 1, 44)))
    );
    assert_eq!(
        tiles_for_nodes(
            &[
                NodeId::new(0, 299),
                NodeId::new(0, 3),
                NodeId::new(1, 1),
                NodeId::new(0, 400)
            ],
            300
        ),
        vec![tile(0, 0, 256), tile(0, 1, 44)]
    );
}

#[test]
fn bundle_ids() {
    assert_eq!(
        tile(0, 7, 9).bundle(),
        Some(BundleId { index: 7, width: 9 })
    );
    assert_eq!(tile(1, 7, 9).bundle(), None);
    assert!(BundleId {
        index: 0,
        width: 256
    }
    .is_full());
    assert_eq!(tile(0, 3, 5).to_string(), "tile/0/003.p/5");
}

/// Every node a tile of `width` hashes at `(level, index)` could span, and
/// some just outside it.
fn nodes_around(level: u8, index: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    for sub in 0..TILE_HEIGHT {
        let first = index << (TILE_HEIGHT - sub);
        let count = 1u64 << (TILE_HEIGHT - sub);
        for i in first.saturating_sub(1)..=first + count {
            nodes.push(NodeId::new(level * TILE_HEIGHT + sub, i));
        }
    }
    nodes.push(NodeId::new((level + 1) * TILE_HEIGHT, index));
    nodes
}

#[test]
fn tile_nodes_agree_with_hashing_the_tile_at_every_width() {
    for width in 1..=TILE_WIDTH {
        let t = tile(1, 3, width);
        let hashes: Vec<Hash> = (0..width).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let data = tile_data(&hashes);
        let nodes = TileNodes::new(t, &data).expect("tile nodes");
        assert_eq!(nodes.tile(), t);
        assert_eq!(nodes.data(), &data[..]);
        for node in nodes_around(1, 3) {
            assert_eq!(
                nodes.hash(node),
                hash_from_tile(node, &t, &data),
                "width {width}, node {node:?}"
            );
        }
    }
}

#[test]
fn tile_nodes_check_their_inputs() {
    let t = tile(0, 0, 10);
    assert_eq!(
        TileNodes::new(t, &[0; 319]),
        Err(Error::WrongTileLength {
            got: 319,
            want: 320
        })
    );
    let nodes = TileNodes::new(t, &[7; 320]).expect("tile nodes");
    let wider = tile(0, 0, 11);
    assert_eq!(
        nodes.node_hash(NodeId::new(0, 1), &wider),
        Err(Error::NodeNotInTile {
            level: 0,
            index: 1,
            tile: wider
        })
    );
    let neighbour = tile(0, 1, 10);
    assert!(nodes.node_hash(NodeId::new(0, 256), &neighbour).is_err());
    assert_eq!(
        nodes.node_hash(NodeId::new(0, 1), &t),
        Ok(Hash([7; HASH_SIZE]))
    );
    // A narrower view of the tile holds only the nodes over its hashes.
    let narrower = tile(0, 0, 4);
    assert!(nodes.node_hash(NodeId::new(2, 0), &narrower).is_ok());
    assert!(nodes.node_hash(NodeId::new(0, 4), &narrower).is_err());
    assert!(nodes.node_hash(NodeId::new(1, 2), &narrower).is_err());
}

#[test]
fn a_wider_tile_answers_for_its_narrower_views() {
    let hashes: Vec<Hash> = (0..256u16).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let full = TileNodes::new(tile(2, 9, 256), &tile_data(&hashes)).expect("tile nodes");
    for width in 1..=TILE_WIDTH {
        let view = tile(2, 9, width);
        let data = tile_data(&hashes[..usize::from(width)]);
        for node in nodes_around(2, 9) {
            assert_eq!(
                full.node_hash(node, &view),
                hash_from_tile(node, &view, &data),
                "width {width}, node {node:?}"
            );
        }
    }
}

#[test]
fn reader_over_tile_nodes_gives_the_same_proofs() {
    let size: u64 = 70_000;
    let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let mut tree = TiledTree::new();
    for leaf in &leaves {
        tree.append(*leaf);
    }
    let raw: HashMap<TileId, Vec<u8>> = tree.take_tiles().into_iter().collect();
    let expanded: HashMap<TileId, std::sync::Arc<TileNodes>> = raw
        .iter()
        .map(|(id, data)| (*id, std::sync::Arc::new(TileNodes::new(*id, data).unwrap())))
        .collect();
    for index in [0, 1, 255, 256, 4_097, 65_535, 65_536, 69_999] {
        let nodes = crate::inclusion_proof_nodes(index, size).unwrap();
        assert_eq!(
            TileHashReader::new(size, &expanded).read_hashes(&nodes),
            TileHashReader::new(size, &raw).read_hashes(&nodes),
            "index {index}"
        );
    }
    assert_eq!(
        crate::tree_root(size, &TileHashReader::new(size, &expanded)),
        Ok(root_of(&leaves))
    );
}
