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
