//! A naive reference: RFC 9162 §2.1 `MTH`, `PATH` and `PROOF` transcribed as
//! recursive functions over ranges of the list of leaf hashes, and the
//! tlog-tiles definition of a tile's contents. `MTH` is memoized by range (a
//! pure function, so that changes nothing but the running time).

#![allow(dead_code)] // Each test binary uses part of it.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use sigtrail_merkle::{empty_root, leaf_hash, node_hash, Hash, TileId};

/// The leaf hashes of the test tree: leaf `i` holds the 8 bytes of `i`.
pub fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// The largest power of two smaller than `n` (`n > 1`).
fn k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The list `D` of leaf hashes, with the RFC's functions over `D[lo:hi]`.
pub struct Reference {
    d: Vec<Hash>,
    memo: RefCell<HashMap<(usize, usize), Hash>>,
}

impl Reference {
    pub fn new(n: u64) -> Self {
        Reference {
            d: leaves(n),
            memo: RefCell::new(HashMap::new()),
        }
    }

    pub fn leaves(&self) -> &[Hash] {
        &self.d
    }

    /// `MTH(D[lo:hi])`.
    pub fn mth(&self, lo: usize, hi: usize) -> Hash {
        if let Some(h) = self.memo.borrow().get(&(lo, hi)) {
            return *h;
        }
        let h = match hi - lo {
            0 => empty_root(),
            1 => self.d[lo],
            n => node_hash(&self.mth(lo, lo + k(n)), &self.mth(lo + k(n), hi)),
        };
        self.memo.borrow_mut().insert((lo, hi), h);
        h
    }

    /// `PATH(m, D[lo:hi])`, `m` relative to `lo`.
    pub fn path(&self, m: usize, lo: usize, hi: usize) -> Vec<Hash> {
        let n = hi - lo;
        if n == 1 {
            return vec![];
        }
        let k = k(n);
        let (mut p, sibling) = if m < k {
            (self.path(m, lo, lo + k), self.mth(lo + k, hi))
        } else {
            (self.path(m - k, lo + k, hi), self.mth(lo, lo + k))
        };
        p.push(sibling);
        p
    }

    /// `PROOF(m, D[n])` = `SUBPROOF(m, D[n], true)`.
    pub fn proof(&self, m: usize, n: usize) -> Vec<Hash> {
        self.subproof(m, 0, n, true)
    }

    fn subproof(&self, m: usize, lo: usize, hi: usize, b: bool) -> Vec<Hash> {
        let n = hi - lo;
        if m == n {
            return if b { vec![] } else { vec![self.mth(lo, hi)] };
        }
        let k = k(n);
        let (mut p, sibling) = if m <= k {
            (self.subproof(m, lo, lo + k, b), self.mth(lo + k, hi))
        } else {
            (
                self.subproof(m - k, lo + k, hi, false),
                self.mth(lo, lo + k),
            )
        };
        p.push(sibling);
        p
    }

    /// Tile contents from the spec's formula: hash `i` of tile `n` at level
    /// `l` is `MTH(D[(n * 256 + i) * 256^l : (n * 256 + i + 1) * 256^l])`.
    pub fn tile_data(&self, tile: &TileId) -> Vec<u8> {
        let span = 1usize << (8 * u32::from(tile.level));
        let mut out = Vec::new();
        for i in 0..usize::from(tile.width) {
            let lo = (tile.index as usize * 256 + i) * span;
            out.extend_from_slice(&self.mth(lo, lo + span).0);
        }
        out
    }
}

/// The tiles of a tree of `size` leaves per the tlog-tiles spec: at each
/// level `l` with `floor(size / 256^l) > 0`, the full tiles and the partial
/// tile of width `floor(size / 256^l) mod 256` when that is not zero.
pub fn tiles(size: u64) -> BTreeSet<TileId> {
    let mut out = BTreeSet::new();
    let mut level = 0u8;
    while level < 8 && size >> (8 * u32::from(level)) > 0 {
        let count = size >> (8 * u32::from(level));
        for index in 0..count / 256 {
            out.insert(TileId {
                level,
                index,
                width: 256,
            });
        }
        if !count.is_multiple_of(256) {
            let width = (count % 256) as u16;
            out.insert(TileId {
                level,
                index: count / 256,
                width,
            });
        }
        level += 1;
    }
    out
}
