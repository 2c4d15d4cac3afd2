//! Trust policies: which logs sign checkpoints and which witnesses must
//! cosign them, either `k` of `n` witness keys or a C2SP tlog-policy file.

use std::collections::HashSet;

use sigtrail_note::{cosignature, Algorithm, Checkpoint, Note, VerifierKey};

use crate::error::PolicyProblem;
use crate::Error;

/// Most logs, witnesses or groups a policy file may define (the spec
/// recommends supporting at least 32).
pub const MAX_POLICY_ITEMS: usize = 256;

/// A member of a witness group, or the quorum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Witness(usize),
    Group(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    threshold: usize,
    members: Vec<Node>,
}

/// A verifier's trust policy: trusted log keys, named witnesses, and the
/// quorum rule a checkpoint's cosignatures must meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<VerifierKey>,
    witnesses: Vec<VerifierKey>,
    groups: Vec<Group>,
    quorum: Option<Node>,
}

/// Names already defined in a policy file, in order.
type Names = Vec<(Vec<u8>, Node)>;

impl Policy {
    /// A policy of one log and `k` of the `witnesses` (`k = 0`: none needed).
    ///
    /// # Errors
    ///
    /// [`Error::TrustedKey`] for a log key that is not Ed25519 or a witness
    /// key that is not cosignature/v1, [`Error::QuorumTooLarge`] when
    /// `k > witnesses.len()`.
    pub fn k_of_n(log: VerifierKey, witnesses: Vec<VerifierKey>, k: usize) -> Result<Self, Error> {
        check_algorithm(&log, Algorithm::Ed25519).map_err(Error::TrustedKey)?;
        for witness in &witnesses {
            check_algorithm(witness, Algorithm::CosignatureV1).map_err(Error::TrustedKey)?;
        }
        let n = witnesses.len();
        if k > n {
            return Err(Error::QuorumTooLarge { k, n });
        }
        let (groups, quorum) = if k == 0 {
            (Vec::new(), None)
        } else {
            let members = (0..n).map(Node::Witness).collect();
            (
                vec![Group {
                    threshold: k,
                    members,
                }],
                Some(Node::Group(0)),
            )
        };
        Ok(Policy {
            logs: vec![log],
            witnesses,
            groups,
            quorum,
        })
    }

    /// Parses a C2SP tlog-policy file strictly: unknown keywords, wrong item
    /// counts, undefined or duplicate names, duplicate keys, bad thresholds
    /// and a missing or repeated quorum line are all errors.
    ///
    /// # Errors
    ///
    /// [`Error::Policy`] naming the line and the problem.
    pub fn parse(text: &[u8]) -> Result<Self, Error> {
        let mut policy = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        };
        let mut names: Names = Vec::new();
        let mut quorums = 0;
        for (number, line) in text.split(|&b| b == b'\n').enumerate() {
            let fail = |problem| Error::Policy {
                line: number + 1,
                problem,
            };
            if let Some(&bad) = line.iter().find(|&&b| b < 0x20 && b != b'\t' || b == 0x7f) {
                return Err(fail(PolicyProblem::ControlCharacter(bad)));
            }
            let words: Vec<&[u8]> = line
                .split(|&b| b == b' ' || b == b'\t')
                .filter(|w| !w.is_empty())
                .collect();
            match words.first() {
                None => {}
                Some(w) if w.starts_with(b"#") => {}
                Some(_) => {
                    quorums += usize::from(words[0] == b"quorum");
                    policy.add_line(&words, &mut names).map_err(fail)?;
                }
            }
        }
        if quorums != 1 {
            return Err(Error::Policy {
                line: 0,
                problem: PolicyProblem::QuorumCount(quorums),
            });
        }
        Ok(policy)
    }

    fn add_line(&mut self, words: &[&[u8]], names: &mut Names) -> Result<(), PolicyProblem> {
        let count = |keyword, range: std::ops::RangeInclusive<usize>| {
            if range.contains(&words.len()) {
                Ok(())
            } else {
                Err(PolicyProblem::WrongItemCount {
                    keyword,
                    got: words.len(),
                })
            }
        };
        match words[0] {
            b"log" => {
                count("log", 2..=3)?;
                let key = parse_key(words[1], Algorithm::Ed25519)?;
                push_unique(&mut self.logs, key)
            }
            b"witness" => {
                count("witness", 3..=4)?;
                let key = parse_key(words[2], Algorithm::CosignatureV1)?;
                define(names, words[1], Node::Witness(self.witnesses.len()))?;
                push_unique(&mut self.witnesses, key)
            }
            b"group" => {
                count("group", 4..=MAX_POLICY_ITEMS + 3)?;
                let group = parse_group(&words[2..], names)?;
                define(names, words[1], Node::Group(self.groups.len()))?;
                self.groups.push(group);
                check_limit(self.groups.len())
            }
            b"quorum" => {
                count("quorum", 2..=2)?;
                self.quorum = match words[1] {
                    b"none" => None,
                    name => Some(lookup(names, name)?),
                };
                Ok(())
            }
            other => Err(PolicyProblem::UnknownKeyword(
                String::from_utf8_lossy(other).into_owned(),
            )),
        }
    }

    /// The trusted log keys.
    pub fn logs(&self) -> &[VerifierKey] {
        &self.logs
    }

    /// The trusted witness keys.
    pub fn witnesses(&self) -> &[VerifierKey] {
        &self.witnesses
    }

    /// Verifies a signed checkpoint: its origin is a trusted log's key name,
    /// that log signed it, every cosignature from a trusted witness
    /// verifies, and those witnesses meet the quorum.
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`] when it does not parse or the log's signature
    /// is missing or fails, [`Error::UnknownLog`], [`Error::Cosignature`]
    /// for a failing cosignature, [`Error::QuorumNotMet`].
    pub fn verify_checkpoint(&self, signed: &[u8]) -> Result<Checkpoint, Error> {
        let (note, checkpoint) = sigtrail_note::checkpoint::parse_signed_checkpoint(signed)
            .map_err(Error::Checkpoint)?;
        let log = self
            .logs
            .iter()
            .find(|k| k.name() == checkpoint.origin)
            .ok_or_else(|| Error::UnknownLog {
                origin: checkpoint.origin.clone(),
            })?;
        note.verify(std::slice::from_ref(log))
            .map_err(Error::Checkpoint)?;
        let cosigned = self.cosigners(&note)?;
        if !self.quorum_met(&cosigned) {
            return Err(Error::QuorumNotMet {
                cosigned: cosigned.len(),
                witnesses: self.witnesses.len(),
            });
        }
        Ok(checkpoint)
    }

    /// Indexes of the trusted witnesses whose cosignatures on `note` verify.
    fn cosigners(&self, note: &Note) -> Result<HashSet<usize>, Error> {
        let mut cosigned = HashSet::new();
        for signature in note.signatures() {
            for (i, witness) in self.witnesses.iter().enumerate() {
                if witness.matches(signature) {
                    cosignature::verify(note.text(), witness, signature).map_err(|source| {
                        Error::Cosignature {
                            witness: witness.name().to_owned(),
                            source,
                        }
                    })?;
                    cosigned.insert(i);
                }
            }
        }
        Ok(cosigned)
    }

    fn quorum_met(&self, cosigned: &HashSet<usize>) -> bool {
        self.quorum.is_none_or(|q| self.witnessed(q, cosigned))
    }

    fn witnessed(&self, node: Node, cosigned: &HashSet<usize>) -> bool {
        match node {
            Node::Witness(i) => cosigned.contains(&i),
            Node::Group(g) => {
                let group = &self.groups[g];
                let count = group
                    .members
                    .iter()
                    .filter(|&&m| self.witnessed(m, cosigned))
                    .count();
                count >= group.threshold
            }
        }
    }
}

fn check_algorithm(key: &VerifierKey, want: Algorithm) -> Result<(), sigtrail_note::Error> {
    if key.algorithm() == want {
        Ok(())
    } else {
        Err(sigtrail_note::Error::WrongKeyType {
            got: key.algorithm(),
            want,
        })
    }
}

fn parse_key(word: &[u8], want: Algorithm) -> Result<VerifierKey, PolicyProblem> {
    let text = std::str::from_utf8(word)
        .map_err(|_| PolicyProblem::Key(sigtrail_note::Error::MalformedVerifierKey))?;
    let key: VerifierKey = text.parse().map_err(PolicyProblem::Key)?;
    check_algorithm(&key, want).map_err(PolicyProblem::Key)?;
    Ok(key)
}

fn push_unique(keys: &mut Vec<VerifierKey>, key: VerifierKey) -> Result<(), PolicyProblem> {
    if keys.iter().any(|k| k.public_key() == key.public_key()) {
        return Err(PolicyProblem::DuplicateKey);
    }
    keys.push(key);
    check_limit(keys.len())
}

fn check_limit(len: usize) -> Result<(), PolicyProblem> {
    if len > MAX_POLICY_ITEMS {
        return Err(PolicyProblem::TooMany(MAX_POLICY_ITEMS));
    }
    Ok(())
}

fn define(names: &mut Names, name: &[u8], node: Node) -> Result<(), PolicyProblem> {
    if name == b"none" || names.iter().any(|(n, _)| n == name) {
        return Err(PolicyProblem::DuplicateName(
            String::from_utf8_lossy(name).into_owned(),
        ));
    }
    names.push((name.to_vec(), node));
    Ok(())
}

fn lookup(names: &Names, name: &[u8]) -> Result<Node, PolicyProblem> {
    names
        .iter()
        .find(|(n, _)| n == name)
        .map(|&(_, node)| node)
        .ok_or_else(|| PolicyProblem::UnknownName(String::from_utf8_lossy(name).into_owned()))
}

/// Parses `<threshold> <name>...` of a group line.
fn parse_group(words: &[&[u8]], names: &Names) -> Result<Group, PolicyProblem> {
    let (threshold, members) = words.split_first().ok_or(PolicyProblem::WrongItemCount {
        keyword: "group",
        got: 2,
    })?;
    let mut nodes = Vec::with_capacity(members.len());
    for &member in members {
        if member == b"none" {
            return Err(PolicyProblem::BadMember("none".to_owned()));
        }
        let node = lookup(names, member)?;
        if nodes.contains(&node) {
            return Err(PolicyProblem::BadMember(
                String::from_utf8_lossy(member).into_owned(),
            ));
        }
        nodes.push(node);
    }
    let n = nodes.len();
    let threshold = match *threshold {
        b"all" => n,
        b"any" => 1,
        digits => parse_threshold(digits)
            .filter(|k| (1..=n).contains(k))
            .ok_or_else(|| PolicyProblem::BadThreshold {
                got: String::from_utf8_lossy(digits).into_owned(),
                n,
            })?,
    };
    Ok(Group {
        threshold,
        members: nodes,
    })
}

/// A decimal without sign or leading zeroes.
fn parse_threshold(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits[0] == b'0' {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests;
