//! Inclusion and consistency proofs (RFC 9162 §2.1.3 and §2.1.4).
//!
//! Proof generation is split in two so that async code can fetch first and
//! prove synchronously: `*_nodes` says which node hashes to fetch,
//! `*_from_hashes` folds the fetched hashes into the proof. `prove_*` does both
//! through a [`HashReader`].
//!
//! Every proof hash is the Merkle Tree Hash of a range of leaves. A range that
//! is a perfect subtree is one [`NodeId`]; a range on the right edge of the
//! tree is split into perfect subtrees, largest first, whose hashes fold from
//! the right into the range's hash.

use crate::compact::CompactRange;
use crate::{empty_root, node_hash, Error, Hash, TreeHead};

/// A perfect subtree: the node at `level` covering leaves
/// `[index << level, (index + 1) << level)`. Level 0 nodes are leaves.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct NodeId {
    /// Height of the subtree: it has `2^level` leaves.
    pub level: u8,
    /// Position of the node among the nodes of its level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }

    /// One past the last leaf the node covers, or `None` when that does not
    /// fit a `u64` (no tree holds such a node).
    pub fn end(&self) -> Option<u64> {
        if self.level >= 64 {
            return None;
        }
        let end = (u128::from(self.index) + 1) << self.level;
        u64::try_from(end).ok()
    }
}

/// Reads the hashes of complete nodes of a tree, from storage or from tiles.
pub trait HashReader {
    /// Returns the hash of each node, in the order asked.
    ///
    /// # Errors
    ///
    /// Whatever the storage reports. Returning a different number of hashes
    /// than nodes makes the callers in this crate fail with
    /// [`Error::WrongHashCount`].
    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Error>;
}

/// A range of leaves `[lo, hi)` whose start is aligned to the largest power
/// of two not above its length, so it splits into perfect subtrees.
#[derive(Clone, Copy, Debug)]
struct Span {
    lo: u64,
    hi: u64,
}

impl Span {
    /// Number of perfect subtrees the range splits into.
    fn node_count(self) -> usize {
        (self.hi - self.lo).count_ones() as usize
    }

    /// Appends the perfect subtrees covering the range, largest first.
    fn push_nodes(self, out: &mut Vec<NodeId>) {
        let mut lo = self.lo;
        let mut rest = self.hi - self.lo;
        while rest > 0 {
            let level = 63 - rest.leading_zeros();
            out.push(NodeId::new(level as u8, lo >> level));
            lo += 1 << level;
            rest -= 1 << level;
        }
    }
}

/// The largest power of two strictly below `n`, for `n >= 2`: where RFC 9162
/// splits a tree of `n` leaves.
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Number of significant bits of `x`.
fn bit_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Folds the hashes of perfect subtrees, largest first, into the hash of the
/// range they cover: `node_hash(h0, node_hash(h1, ... node_hash(hn-1, hn)))`.
pub(crate) fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// The leaf ranges of `PATH(index, D[size])`, deepest first.
fn inclusion_spans(index: u64, size: u64) -> Result<Vec<Span>, Error> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let (mut lo, mut hi) = (0, size);
    let mut spans = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            spans.push(Span { lo: lo + k, hi });
            hi = lo + k;
        } else {
            spans.push(Span { lo, hi: lo + k });
            lo += k;
        }
    }
    spans.reverse();
    Ok(spans)
}

/// Checks that a consistency proof between these sizes is defined.
fn check_sizes(old: u64, new: u64) -> Result<(), Error> {
    if old > new {
        return Err(Error::SizeOrder { old, new });
    }
    if old == 0 && new > 0 {
        return Err(Error::EmptyOldTree { new });
    }
    Ok(())
}

/// The leaf ranges of `PROOF(old, D[new])` (RFC 9162 `SUBPROOF(m, D[n], true)`),
/// deepest first.
fn consistency_spans(old: u64, new: u64) -> Result<Vec<Span>, Error> {
    check_sizes(old, new)?;
    let (mut lo, mut hi, mut whole_old_tree) = (0, new, true);
    let mut spans = Vec::new();
    // Invariant: lo < old <= hi, so the loop runs on ranges of 2+ leaves.
    while old != hi {
        let k = split_point(hi - lo);
        if old <= lo + k {
            spans.push(Span { lo: lo + k, hi });
            hi = lo + k;
        } else {
            spans.push(Span { lo, hi: lo + k });
            lo += k;
            whole_old_tree = false;
        }
    }
    // SUBPROOF(m, D[m], false) = [MTH(D[m])]: the verifier cannot know this
    // subtree's hash unless it is the whole old tree.
    if !whole_old_tree {
        spans.push(Span { lo, hi });
    }
    spans.reverse();
    Ok(spans)
}

fn spans_nodes(spans: &[Span]) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    for span in spans {
        span.push_nodes(&mut nodes);
    }
    nodes
}

fn spans_from_hashes(spans: &[Span], hashes: &[Hash]) -> Result<Vec<Hash>, Error> {
    let want: usize = spans.iter().map(|s| s.node_count()).sum();
    if hashes.len() != want {
        return Err(Error::WrongHashCount {
            got: hashes.len(),
            want,
        });
    }
    let mut rest = hashes;
    let mut proof = Vec::with_capacity(spans.len());
    for span in spans {
        let (these, tail) = rest.split_at(span.node_count());
        // A span is never empty, so neither is `these`.
        proof.extend(fold_right(these));
        rest = tail;
    }
    Ok(proof)
}

fn read_exact(r: &impl HashReader, nodes: &[NodeId]) -> Result<Vec<Hash>, Error> {
    let hashes = r.read_hashes(nodes)?;
    if hashes.len() != nodes.len() {
        return Err(Error::WrongHashCount {
            got: hashes.len(),
            want: nodes.len(),
        });
    }
    Ok(hashes)
}

/// The nodes whose hashes make up the inclusion proof of leaf `index` in a
/// tree of `size` leaves, in the order [`inclusion_proof_from_hashes`] takes.
///
/// # Errors
///
/// [`Error::IndexOutOfRange`] when `index >= size`.
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Result<Vec<NodeId>, Error> {
    Ok(spans_nodes(&inclusion_spans(index, size)?))
}

/// Builds the inclusion proof from the hashes of [`inclusion_proof_nodes`].
///
/// # Errors
///
/// [`Error::IndexOutOfRange`] when `index >= size`; [`Error::WrongHashCount`]
/// when `hashes` does not match the nodes.
pub fn inclusion_proof_from_hashes(
    index: u64,
    size: u64,
    hashes: &[Hash],
) -> Result<Vec<Hash>, Error> {
    spans_from_hashes(&inclusion_spans(index, size)?, hashes)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves.
///
/// # Errors
///
/// As [`inclusion_proof_from_hashes`], and whatever the reader reports.
pub fn prove_inclusion(index: u64, size: u64, r: &impl HashReader) -> Result<Vec<Hash>, Error> {
    let spans = inclusion_spans(index, size)?;
    spans_from_hashes(&spans, &read_exact(r, &spans_nodes(&spans))?)
}

/// The nodes whose hashes make up the consistency proof from the tree of
/// `old` leaves to the tree of `new` leaves.
///
/// # Errors
///
/// [`Error::SizeOrder`] when `old > new`; [`Error::EmptyOldTree`] when
/// `old == 0 < new`. `old == new` gives an empty list.
pub fn consistency_proof_nodes(old: u64, new: u64) -> Result<Vec<NodeId>, Error> {
    Ok(spans_nodes(&consistency_spans(old, new)?))
}

/// Builds the consistency proof from the hashes of [`consistency_proof_nodes`].
///
/// # Errors
///
/// As [`consistency_proof_nodes`]; [`Error::WrongHashCount`] when `hashes`
/// does not match the nodes.
pub fn consistency_proof_from_hashes(
    old: u64,
    new: u64,
    hashes: &[Hash],
) -> Result<Vec<Hash>, Error> {
    spans_from_hashes(&consistency_spans(old, new)?, hashes)
}

/// The consistency proof from the tree of `old` leaves to the tree of `new`.
///
/// # Errors
///
/// As [`consistency_proof_from_hashes`], and whatever the reader reports.
pub fn prove_consistency(old: u64, new: u64, r: &impl HashReader) -> Result<Vec<Hash>, Error> {
    let spans = consistency_spans(old, new)?;
    spans_from_hashes(&spans, &read_exact(r, &spans_nodes(&spans))?)
}

/// The perfect subtrees covering a tree of `size` leaves, largest first: the
/// nodes whose hashes give its root hash. Empty for `size == 0`.
pub fn root_nodes(size: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    Span { lo: 0, hi: size }.push_nodes(&mut nodes);
    nodes
}

/// The root hash of the tree of `size` leaves from the hashes of
/// [`root_nodes`].
///
/// # Errors
///
/// [`Error::WrongHashCount`] when `hashes` does not match the nodes.
pub fn root_from_hashes(size: u64, hashes: &[Hash]) -> Result<Hash, Error> {
    let want = size.count_ones() as usize;
    if hashes.len() != want {
        return Err(Error::WrongHashCount {
            got: hashes.len(),
            want,
        });
    }
    Ok(fold_right(hashes).unwrap_or_else(empty_root))
}

/// The root hash of the tree of `size` leaves.
///
/// # Errors
///
/// Whatever the reader reports; [`Error::WrongHashCount`] when it returns the
/// wrong number of hashes.
pub fn tree_root(size: u64, r: &impl HashReader) -> Result<Hash, Error> {
    root_from_hashes(size, &read_exact(r, &root_nodes(size))?)
}

/// The Merkle Tree Hash of a list of leaf hashes; [`empty_root`] when empty.
pub fn root_of(leaves: &[Hash]) -> Hash {
    let mut range = CompactRange::new();
    for leaf in leaves {
        range.append(*leaf, |_, _| {});
    }
    range.root()
}

/// The root hash that an inclusion proof of `leaf` at `index` leads to in a
/// tree of `size` leaves.
///
/// # Errors
///
/// [`Error::IndexOutOfRange`] when `index >= size`; [`Error::WrongProofLength`]
/// (evidence) when the proof does not have the length these numbers require.
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, Error> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    // Below level `inner` the paths to `index` and to the last leaf differ, so
    // the path to `index` has a sibling at every level. Above it the path runs
    // along the right edge, where only left siblings (the set bits) exist.
    let inner = bit_len(index ^ (size - 1)) as usize;
    let border = (index >> inner).count_ones() as usize;
    let want = inner + border;
    if proof.len() != want {
        return Err(Error::WrongProofLength {
            got: proof.len(),
            want,
        });
    }
    let (inner_part, border_part) = proof.split_at(inner);
    let mut h = *leaf;
    for (level, p) in inner_part.iter().enumerate() {
        h = if (index >> level) & 1 == 0 {
            node_hash(&h, p)
        } else {
            node_hash(p, &h)
        };
    }
    Ok(border_part.iter().fold(h, |acc, p| node_hash(p, &acc)))
}

/// Checks that `proof` proves `leaf` is at `index` in the tree of `head`.
///
/// # Errors
///
/// [`Error::IndexOutOfRange`] when `index >= head.size`; evidence
/// ([`Error::WrongProofLength`], [`Error::RootMismatch`]) when the proof fails.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    head: &TreeHead,
    proof: &[Hash],
) -> Result<(), Error> {
    if root_from_inclusion_proof(leaf, index, head.size, proof)? != head.root {
        return Err(Error::RootMismatch);
    }
    Ok(())
}

/// Checks that `proof` proves the tree of `new` extends the tree of `old`.
///
/// Equal sizes need an empty proof and equal roots. A head of size 0 must
/// carry [`empty_root`]. RFC 9162 defines no proof from the empty tree to a
/// larger one, so, as in the transparency-dev vectors, that is an error.
///
/// # Errors
///
/// [`Error::SizeOrder`] when `old.size > new.size`; [`Error::EmptyOldTree`]
/// when `old.size == 0 < new.size`; evidence ([`Error::WrongProofLength`],
/// [`Error::RootMismatch`]) when the proof fails.
pub fn verify_consistency(old: &TreeHead, new: &TreeHead, proof: &[Hash]) -> Result<(), Error> {
    check_sizes(old.size, new.size)?;
    if old.size == new.size {
        if !proof.is_empty() {
            return Err(Error::WrongProofLength {
                got: proof.len(),
                want: 0,
            });
        }
        if old.root != new.root || (old.size == 0 && old.root != empty_root()) {
            return Err(Error::RootMismatch);
        }
        return Ok(());
    }
    let (old_root, new_root) = roots_from_consistency_proof(old, new.size, proof)?;
    if old_root != old.root || new_root != new.root {
        return Err(Error::RootMismatch);
    }
    Ok(())
}

/// Both root hashes a consistency proof leads to, for `0 < old.size < new`.
fn roots_from_consistency_proof(
    old: &TreeHead,
    new: u64,
    proof: &[Hash],
) -> Result<(Hash, Hash), Error> {
    // The proof is the tail of the inclusion proof of the old tree's last
    // leaf in the new tree, starting at level `shift`: the largest perfect
    // subtree ending at `old.size` is complete in both trees. Its hash is
    // the proof's first element, unless it is the whole old tree.
    let last = old.size - 1;
    let inner = bit_len(last ^ (new - 1)) as usize;
    let shift = old.size.trailing_zeros() as usize;
    let border = (last >> inner).count_ones() as usize;
    let seeded = old.size != 1 << shift;
    let want = usize::from(seeded) + (inner - shift) + border;
    if proof.len() != want {
        return Err(Error::WrongProofLength {
            got: proof.len(),
            want,
        });
    }
    let (seed, path) = match proof.split_first() {
        Some((first, rest)) if seeded => (*first, rest),
        _ => (old.root, proof),
    };
    let (inner_part, border_part) = path.split_at(inner - shift);
    let mask = last >> shift;
    let (mut old_h, mut new_h) = (seed, seed);
    for (bit, p) in inner_part.iter().enumerate() {
        if (mask >> bit) & 1 == 1 {
            // A left sibling: part of both trees.
            old_h = node_hash(p, &old_h);
            new_h = node_hash(p, &new_h);
        } else {
            // A right sibling: leaves the old tree does not have.
            new_h = node_hash(&new_h, p);
        }
    }
    for p in border_part {
        old_h = node_hash(p, &old_h);
        new_h = node_hash(p, &new_h);
    }
    Ok((old_h, new_h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Reads perfect subtree hashes straight from a list of leaves.
    struct Leaves(Vec<Hash>);

    impl HashReader for Leaves {
        fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Error> {
            let mut out = Vec::new();
            for n in nodes {
                let lo = (n.index << n.level) as usize;
                let hi = n.end().unwrap() as usize;
                out.push(root_of(&self.0[lo..hi]));
            }
            Ok(out)
        }
    }

    #[test]
    fn root_nodes_are_largest_first() {
        assert_eq!(
            root_nodes(13),
            vec![NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
        );
        assert!(root_nodes(0).is_empty());
        assert_eq!(root_nodes(u64::MAX).len(), 64);
    }

    #[test]
    fn node_end_handles_overflow() {
        assert_eq!(NodeId::new(3, 2).end(), Some(24));
        assert_eq!(NodeId::new(63, 0).end(), Some(1 << 63));
        assert_eq!(NodeId::new(63, 1).end(), None);
        assert_eq!(NodeId::new(0, u64::MAX).end(), None);
        assert_eq!(NodeId::new(64, 0).end(), None);
    }

    /// The proof length a verifier expects, read from its error on an empty proof.
    fn expected_len(result: Result<impl Sized, Error>) -> usize {
        match result {
            Ok(_) => 0,
            Err(Error::WrongProofLength { got: 0, want }) => want,
            Err(e) => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn verifiers_expect_the_lengths_provers_give() {
        let h = Hash::default();
        for size in 1..=70u64 {
            for index in 0..size {
                let nodes = inclusion_proof_nodes(index, size).unwrap();
                let proof = inclusion_proof_from_hashes(index, size, &vec![h; nodes.len()]);
                let want = expected_len(root_from_inclusion_proof(&h, index, size, &[]));
                assert_eq!(proof.unwrap().len(), want, "index {index} size {size}");
            }
            for old in 1..size {
                let nodes = consistency_proof_nodes(old, size).unwrap();
                let proof = consistency_proof_from_hashes(old, size, &vec![h; nodes.len()]);
                let head = TreeHead { size: old, root: h };
                let want = expected_len(roots_from_consistency_proof(&head, size, &[]));
                assert_eq!(proof.unwrap().len(), want, "old {old} new {size}");
            }
        }
    }

    #[test]
    fn edge_cases_are_errors() {
        let r = Leaves(leaves(8));
        assert_eq!(
            prove_inclusion(8, 8, &r),
            Err(Error::IndexOutOfRange { index: 8, size: 8 })
        );
        assert_eq!(
            prove_consistency(5, 4, &r),
            Err(Error::SizeOrder { old: 5, new: 4 })
        );
        assert_eq!(
            prove_consistency(0, 4, &r),
            Err(Error::EmptyOldTree { new: 4 })
        );
        assert_eq!(prove_consistency(0, 0, &r), Ok(vec![]));
        assert_eq!(prove_consistency(4, 4, &r), Ok(vec![]));
        assert_eq!(
            root_from_hashes(3, &[Hash::default()]),
            Err(Error::WrongHashCount { got: 1, want: 2 })
        );
        assert_eq!(root_from_hashes(0, &[]), Ok(empty_root()));
    }

    #[test]
    fn short_reader_is_an_error_not_a_panic() {
        struct Short;
        impl HashReader for Short {
            fn read_hashes(&self, _: &[NodeId]) -> Result<Vec<Hash>, Error> {
                Ok(vec![])
            }
        }
        assert_eq!(
            prove_inclusion(0, 5, &Short),
            Err(Error::WrongHashCount { got: 0, want: 3 })
        );
        assert_eq!(
            tree_root(5, &Short),
            Err(Error::WrongHashCount { got: 0, want: 2 })
        );
    }

    #[test]
    fn equal_and_empty_heads() {
        let empty = TreeHead {
            size: 0,
            root: empty_root(),
        };
        assert_eq!(verify_consistency(&empty, &empty, &[]), Ok(()));
        let bogus = TreeHead {
            size: 0,
            root: leaf_hash(b""),
        };
        assert_eq!(
            verify_consistency(&bogus, &bogus, &[]),
            Err(Error::RootMismatch)
        );
        let one = TreeHead {
            size: 1,
            root: leaf_hash(b"x"),
        };
        assert_eq!(
            verify_consistency(&empty, &one, &[]),
            Err(Error::EmptyOldTree { new: 1 })
        );
        assert_eq!(
            verify_consistency(&one, &one, &[one.root]),
            Err(Error::WrongProofLength { got: 1, want: 0 })
        );
        assert!(Error::RootMismatch.is_evidence());
        assert!(!Error::EmptyOldTree { new: 1 }.is_evidence());
    }

    #[test]
    fn prove_and_verify_small_trees() {
        let all = leaves(20);
        for new in 1..=20u64 {
            let r = Leaves(all[..new as usize].to_vec());
            let head = TreeHead {
                size: new,
                root: tree_root(new, &r).unwrap(),
            };
            for index in 0..new {
                let proof = prove_inclusion(index, new, &r).unwrap();
                verify_inclusion(&all[index as usize], index, &head, &proof).unwrap();
            }
            for old in 1..=new {
                let old_head = TreeHead {
                    size: old,
                    root: root_of(&all[..old as usize]),
                };
                let proof = prove_consistency(old, new, &r).unwrap();
                verify_consistency(&old_head, &head, &proof).unwrap();
            }
        }
    }
}
